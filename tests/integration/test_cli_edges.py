"""The command line's edges: usage errors, SIGTERM from a CI timeout, file names that are not
UTF-8, and reports that are never left half-written."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.images import kit


@pytest.mark.parametrize("args", [
    ("scan",),
    ("scan", "x", "--bogus"),
    ("scan", "x", "--fail-on", "wat"),
    ("scan", "x", "--max-files", "many"),
    ("nosuchcommand",),
])
def test_usage_errors_are_one_line(args: tuple[str, ...]) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("portcullis: error: ")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung
    registry), so a scan blocks in a socket read until something stops it."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_sigterm_removes_temp_files_and_exits_2_at_once(tmp_path: Path,
                                                        silent_server: int) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portcullis", "scan",
         f"registry:127.0.0.1:{silent_server}/app:1", "--insecure", "--timeout", "120",
         "--quiet", "--temp-dir", str(temp)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not any(temp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(temp.iterdir()), "the scan never started"
    time.sleep(0.3)  # let it block in the registry read
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 2
    assert err.strip() == "portcullis: error: terminated"
    assert list(temp.iterdir()) == []


def test_non_utf8_file_names_reach_the_report_escaped(tmp_path: Path) -> None:
    name = "srv/caf\udce9-\udcff.bin"  # the bytes caf\xe9-\xff.bin: Latin-1, not UTF-8
    spec = kit.ImageSpec(layers=[kit.Layer([kit.file(name, b"x" * 10, mode=0o4755)])])
    layout = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "portcullis", "scan", f"oci:{layout}:t", "--format", "json",
         "--quiet", "--scanners", "files", "--output", str(out)],
        capture_output=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr
    raw = out.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 through and through
    assert b"\\udce9" in raw
    doc = json.loads(raw)
    paths = {f["path"] for f in doc["findings"]}
    assert "/" + name in paths  # the same name, surrogate-escaped, round-trips
    table = run_cli("scan", f"oci:{layout}:t", "--format", "table", "--quiet")
    assert table.returncode == 0, table.stderr


def test_a_report_that_cannot_be_written_leaves_no_partial_file(tmp_path: Path) -> None:
    spec = kit.ImageSpec(layers=[kit.Layer([kit.file("etc/hostname", "h")])])
    layout = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    target = tmp_path / "out"  # a directory in the way of the report, even for root
    target.mkdir()
    (target / "keep").write_text("k")
    proc = run_cli("scan", f"oci:{layout}:t", "--quiet", "--format", "json",
                   "--report", f"json={target}")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"portcullis: error: cannot write report to {target}")
    assert len(proc.stderr.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["img", "out"]
    assert [p.name for p in target.iterdir()] == ["keep"]


def test_a_report_into_a_device_or_fifo_writes_into_it(tmp_path: Path) -> None:
    """--output /dev/null must never replace /dev/null with a file (root can rename over it)."""
    spec = kit.ImageSpec(layers=[kit.Layer([kit.file("etc/hostname", "h")])])
    layout = kit.write_oci_layout(tmp_path / "img", spec, ref="t")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    proc = run_cli("scan", f"oci:{layout}:t", "--quiet", "--format", "json",
                   "--output", str(fifo), "--report", "json=/dev/null")
    out, _ = reader.communicate(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out)["artifact"]["source"] == "oci"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert stat.S_ISCHR(Path("/dev/null").lstat().st_mode)


# The program leaves with os._exit once its output is flushed (cli.main.run): the report must
# still be whole on a pipe, and a profiler or coverage tracer must still get its normal exit.
def test_a_report_on_a_pipe_is_whole_after_the_quick_exit(tmp_path: Path) -> None:
    archive = kit.write_oci_archive(tmp_path / "img.tar", kit.sample_image())
    proc = run_cli("scan", f"oci-archive:{archive}", "--scanners", "none", "--no-cache",
                   "--format", "json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"]["count"] > 0


def test_under_a_profiler_the_program_exits_normally(tmp_path: Path) -> None:
    stats = tmp_path / "run.prof"
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), "-m",
                           "portcullis", "--help"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert stats.stat().st_size > 0  # written at the interpreter's normal exit


def test_a_reader_that_goes_away_is_an_error_not_a_crash(tmp_path: Path) -> None:
    archive = kit.write_oci_archive(tmp_path / "img.tar", kit.sample_image())
    proc = subprocess.Popen([sys.executable, "-m", "portcullis", "scan", f"oci-archive:{archive}",
                             "--scanners", "none", "--no-cache", "--format", "json", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head -c 0`: nothing of the report can be delivered
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert stderr.splitlines() == [
        "portcullis: error: output closed before it was all written (a reader on a pipe went "
        "away)"]
