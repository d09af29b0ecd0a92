"""Very long and very deep paths, deep and oddly named ``dir:`` trees, bare paths that are not
files: each scan ends in exit 0 with located warnings or exit 2 with one line, within the time
and peak-RSS bounds of test_hostile_sources (the child's own VmHWM)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.images import kit
from tests.integration.test_hostile_sources import (
    ERROR,
    RSS_LIMIT,
    TIME_LIMIT,
    Outcome,
    run_bounded,
    scan_fails,
    without_root_privileges,
)

TOO_LONG = "tar entry name or link target longer than 4096 characters"


def scan_report(ref: str, out: Path, *extra: str) -> tuple[Outcome, dict[str, Any]]:
    """Scan ``ref`` in a bounded child; assert exit 0 within the bounds; the JSON report."""
    got = run_bounded("scan", ref, "--quiet", "--format", "json", "--scanners", "files",
                      "--output", str(out), *extra)
    assert got.code == 0, got.stderr
    assert "Traceback" not in got.stderr and "Exception in thread" not in got.stderr
    assert got.seconds < TIME_LIMIT
    assert got.max_rss < RSS_LIMIT, f"peak RSS {got.max_rss >> 20} MiB"
    report: dict[str, Any] = json.loads(out.read_text())
    return got, report


def file_paths(report: dict[str, Any]) -> set[str]:
    return {f["path"] for f in report["files"]["largest"]}


def layout(root: Path, entries: list[kit.Entry]) -> str:
    return f"oci:{kit.write_oci_layout(root, kit.ImageSpec(layers=[kit.Layer(entries)]), ref='t')}:t"


# --- layers ---------------------------------------------------------------------------------------


def test_a_520k_character_path_and_folders_nested_to_the_limit(tmp_path: Path) -> None:
    """One 520,000-character pax path, 67 nested 60-character folders (4,020 characters, just
    under the limit) with a file at the bottom, and one name past the limit below them: the
    two long names are skipped with located warnings, the deep file is in the report."""
    chain = ["n" * 59] * 67
    entries = [kit.file("opt/" + "x" * 520_000, "long")]
    entries += [kit.directory("/".join(chain[:i])) for i in range(1, len(chain) + 1)]
    deep = "/".join(chain) + "/deep.txt"
    entries += [kit.file(deep, "deep"), kit.file("/".join(chain) + "/" + "z" * 100, "too deep"),
                kit.file("etc/hostname", "h")]
    _, report = scan_report(layout(tmp_path / "img", entries), tmp_path / "out.json")
    assert file_paths(report) == {"/" + deep, "/etc/hostname"}
    skipped = [w for w in report["warnings"] if w["message"].startswith(TOO_LONG)]
    assert len(skipped) == 2 and all(w["layer"] == 0 for w in skipped)


def test_deep_names_without_their_folders_hit_the_implied_directory_budget(tmp_path: Path) -> None:
    """300 names of 4,090 characters, 2,040 levels each, with no folder entries: each implies
    2,040 folders of up to 4 KB (a 36 KB image took 1 GB per 200 of them). Exit 2 at the
    budget, within the memory bound."""
    deep = "a/" * 2040
    entries = [kit.file(f"b{i}/{deep}f", "x") for i in range(300)]
    line = scan_fails(layout(tmp_path / "img", entries))
    assert line == (f"{ERROR}limit exceeded in layer 0: implied_directories "
                    "(134217728 bytes/entries allowed)")


def test_many_names_at_the_limit_with_their_folders_scan(tmp_path: Path) -> None:
    """The same depth with its folder entries present costs what the tar holds: exit 0."""
    deep = "/".join(["a"] * 2040)
    entries = [kit.directory("/".join(["a"] * i)) for i in range(1, 2041)]
    entries += [kit.file(f"{deep}/f{i}", "x") for i in range(200)]
    _, report = scan_report(layout(tmp_path / "img", entries), tmp_path / "out.json")
    assert report["files"]["count"] == 200


# --- dir: roots -------------------------------------------------------------------------------------


def nest(root: Path, levels: int, name: str = "d") -> Path:
    """``levels`` folders one inside the other below ``root`` (made relative to each folder,
    so no call sees a path longer than the kernel's PATH_MAX); the deepest one."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        marker = os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(marker, b"x")
        os.close(marker)
    finally:
        os.close(fd)
    return root


def unnest(root: Path, name: str = "d") -> None:
    """Remove a tree made by ``nest`` one level at a time: pytest's own clean-up of old temp
    dirs (shutil.rmtree) recurses, and a tree this deep would overflow it in a later run."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while Path(root, name).is_dir():
            # Lift the grandchild to the top: the child then holds nothing but files.
            lifted = Path(root, name, name).is_dir()
            if lifted:
                os.rename(f"{name}/{name}", "lifted", src_dir_fd=fd, dst_dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            try:
                with os.scandir(child) as listing:
                    names = [entry.name for entry in listing]
                for entry_name in names:
                    os.unlink(entry_name, dir_fd=child)
            finally:
                os.close(child)
            os.rmdir(name, dir_fd=fd)
            if lifted:
                os.rename("lifted", name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)
    root.rmdir()


def test_a_dir_root_1500_levels_deep_scans(tmp_path: Path) -> None:
    root = nest(tmp_path / "root", 1500)
    try:
        got, report = scan_report(f"dir:{root}", tmp_path / "out.json")
    finally:
        unnest(root)
    assert file_paths(report) == {"/d" * 1500 + "/bottom.txt"}
    assert got.stderr == ""


def test_a_dir_root_deeper_than_path_max_is_exit_2(tmp_path: Path) -> None:
    root = nest(tmp_path / "root", 2100)
    try:
        line = scan_fails(f"dir:{root}")
    finally:
        unnest(root)
    assert line == f"{ERROR}dir:{root}: path longer than 4096 bytes at {('/d' * 50)[:100]}…"


def test_non_utf8_names_in_a_dir_root_reach_the_report_escaped(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    raw = os.fsencode(root)
    Path(os.fsdecode(raw + b"/caf\xe9.txt")).write_bytes(b"x")
    Path(os.fsdecode(raw + b"/d\xff")).mkdir()
    Path(os.fsdecode(raw + b"/d\xff/f")).write_bytes(b"y")
    out = tmp_path / "out.json"
    _, report = scan_report(f"dir:{root}", out)
    assert file_paths(report) == {"/caf\udce9.txt", "/d\udcff/f"}
    assert "\\udce9" in out.read_text()  # escaped in the JSON text itself


# --- bare paths -------------------------------------------------------------------------------------


def test_a_bare_fifo_says_it_is_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "image.tar"
    os.mkfifo(fifo)
    assert scan_fails(str(fifo)) == f"{ERROR}{fifo}: a FIFO, not a regular file"


def test_a_bare_path_under_an_unreadable_folder_is_exit_2(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    locked = tmp_path / "locked"
    (locked / "image").mkdir(parents=True)
    locked.chmod(0)
    try:
        line = scan_fails(str(locked / "image"), prefix=prefix)
    finally:
        locked.chmod(0o755)
    assert line == f"{ERROR}{locked / 'image'}: cannot read: Permission denied"


def test_a_bare_unreadable_folder_is_exit_2(tmp_path: Path) -> None:
    prefix = without_root_privileges()
    folder = tmp_path / "rootfs"
    folder.mkdir(mode=0)
    try:
        line = scan_fails(str(folder), prefix=prefix)
    finally:
        folder.chmod(0o755)
    assert line == f"{ERROR}{folder}: cannot read: Permission denied"
