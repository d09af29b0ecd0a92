"""``dir:`` sources read every entry or fail: never a tree that silently ends early.

Root reads every file whatever its mode, so where the tests run as root the scan runs without
the capabilities that let root ignore file permissions (setpriv), as an ordinary user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import one_line_error


def _as_ordinary_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to drop root's file-permission override"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}"]


def _scan(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [*_as_ordinary_user(), sys.executable, "-m", "portcullis", "scan", f"dir:{root}",
         "--format", "json", "--quiet", "--scanners", "packages"],
        capture_output=True, text=True, timeout=300, env=env, check=False)


def _tree(tmp_path: Path) -> Path:
    """A rootfs with a package whose metadata comes after /secret in the walk's name order:
    a walk that stopped at /secret would lose it without a word."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=debian\nVERSION_ID=12\nNAME=Debian\n")
    (root / "secret").mkdir()
    (root / "secret" / "key").write_text("not for everyone\n")
    dist = root / "usr" / "lib" / "python3" / "dist-packages" / "zzz-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: zzz\nVersion: 1.0\n")
    return root


def test_a_readable_tree_is_read_to_its_end(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    result = _scan(root)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [(p["name"], p["version"]) for p in doc["packages"]] == [("zzz", "1.0")]


def test_an_unreadable_file_fails_the_scan_and_is_named(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "secret" / "key").chmod(0)
    result = _scan(root)
    line = one_line_error(result)
    assert line == f"portcullis: error: dir:{root}: cannot read /secret/key (Permission denied)"
    assert result.stdout == ""  # no report that looks complete


def test_an_unlistable_folder_fails_the_scan_and_is_named(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "secret").chmod(0)
    try:
        result = _scan(root)
    finally:
        (root / "secret").chmod(0o755)  # let the temp dir be removed
    line = one_line_error(result)
    assert line == f"portcullis: error: dir:{root}: cannot read /secret (Permission denied)"
    assert result.stdout == ""
