"""Test-wide guards and helpers.

No test may open a socket to anything but loopback: the scanner under test must never reach
the internet by accident (registry pulls and DB updates are tested against local servers).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.images.debian import REQUIRED_TOOLS, DebianImage, debian_image

# Under CI=true a skip is a failure (tests/ci_skips.py).
pytest_plugins = ["tests.ci_skips"]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _allowed(address):
        raise OSError(f"test network guard: connection to {address!r} refused (loopback only)")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _allowed(address):
        raise OSError(f"test network guard: connection to {address!r} refused (loopback only)")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def test_vuln_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every scan in the suite, in process or in a child, matches against a real database
    built from the OSV records in tests/data/osv (never the user's ~/.cache one)."""
    from portcullis.vulndb.build import Download, build, now_utc
    from tests.osv_exports import OSV, full_ecosystem_zip

    work = tmp_path_factory.mktemp("vulndb")
    downloads = []
    for eco_dir in sorted(p for p in OSV.iterdir() if p.is_dir()):
        data = full_ecosystem_zip(eco_dir.name)
        path = work / f"{eco_dir.name}.zip"
        path.write_bytes(data)
        downloads.append(Download(eco_dir.name, f"http://127.0.0.1/{eco_dir.name}/all.zip",
                                  path, now_utc(), None, len(data)))
    db = work / "vuln.db"
    build(db, downloads)
    old = os.environ.get("PORTCULLIS_DB")
    os.environ["PORTCULLIS_DB"] = str(db)
    yield db
    if old is None:
        os.environ.pop("PORTCULLIS_DB", None)
    else:
        os.environ["PORTCULLIS_DB"] = old


@pytest.fixture(autouse=True)
def _own_layer_cache(tmp_path_factory: pytest.TempPathFactory,
                     monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test that runs ``portcullis scan`` (in a child or in process) gets its own, empty
    layer cache: no test is served layers another test cached, nor the user's cache. It is
    not under ``tmp_path``, which some tests list."""
    path = tmp_path_factory.mktemp("layer-cache")
    monkeypatch.setenv("PORTCULLIS_CACHE_DIR", str(path))
    return path


@pytest.fixture(autouse=True, scope="session")
def _network_guard() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


def stable_report(doc: Any) -> Any:
    """A JSON report without what differs between two runs of the same scan (times)."""
    if isinstance(doc, dict):
        return {k: stable_report(v) for k, v in doc.items()
                if k not in ("created_at", "seconds")}
    if isinstance(doc, list):
        return [stable_report(v) for v in doc]
    return doc


def scan_noting_reuse(ref: str, cache: Path | None, tmp: Path,
                      caplog: pytest.LogCaptureFixture) -> tuple[Any, set[str]]:
    """Scan ``ref`` (every scanner, a fixed day, no vulnerability database) with the layer
    cache at ``cache`` (None: none): the stable JSON report, and the tree analyzers whose
    recorded result was reused (analyze/tree_reuse.py says so at debug level)."""
    import io
    import json
    import logging
    from datetime import UTC, datetime

    from portcullis.report.json import write_json
    from portcullis.scan import ScanOptions, scan

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="portcullis.analyze.tree_reuse"):
        report = scan(ref, ScanOptions(now=datetime(2026, 12, 1, 12, tzinfo=UTC),
                                       db=tmp / "no-such.db", cache_dir=cache))
    reused = {str(r.args[0]) for r in caplog.records
              if isinstance(r.args, tuple) and r.msg.startswith("tree analyzer %s: result reused")}
    out = io.StringIO()
    write_json(report, out)
    return stable_report(json.loads(out.getvalue())), reused


def run_cli(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m portcullis`` as a user would, in a child process."""

    full_env = dict(os.environ)
    full_env.pop("CI", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "portcullis", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env,
        check=False,
    )


@pytest.fixture(scope="session")
def sample_formats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The sample image (tests/images/kit.py) in every format a pipeline produces."""
    from tests.images import kit

    root = tmp_path_factory.mktemp("sample")
    spec = kit.sample_image()
    kit.write_oci_layout(root / "oci", spec, ref="1.0")
    kit.write_oci_archive(root / "image.oci.tar", spec, ref="1.0")
    refs = {"oci": f"oci:{root / 'oci'}:1.0", "oci-archive": f"oci-archive:{root / 'image.oci.tar'}"}
    for style in ("modern", "legacy", "skopeo"):
        path = kit.write_docker_archive(root / f"docker-{style}.tar", spec, style=style)
        refs[f"docker-archive-{style}"] = f"docker-archive:{path}"
    gz = kit.write_docker_archive(root / "docker.tar.gz", spec, style="skopeo", gzip_whole=True)
    refs["docker-archive-gzip"] = f"docker-archive:{gz}"
    refs["bare-oci-dir"] = str(root / "oci")
    refs["bare-docker-tar"] = str(root / "docker-skopeo.tar")
    return refs


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the CLI failed like the contract says: exit 2, one line, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("portcullis: error: ")
    return lines[0]


@pytest.fixture(scope="session")
def debian() -> DebianImage:
    """The real Debian test image (tests/images/debian.py), built once and cached."""
    if os.geteuid() != 0:
        pytest.skip("building the Debian test image needs root")
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install mmdebstrap umoci skopeo)")
    return debian_image()


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    d = tmp_path / "scratch"
    d.mkdir()
    return d
