"""Damage inside a layer's tar is never mistaken for its end (issue 8, first class): a bad
header checksum in the middle of a layer is exit 2 naming the offset; a lone zero block
followed by more members is a located warning, and the members after it are still seen."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.images import kit

SETUID = kit.file("usr/local/bin/backdoor", b"\x7fELF" + b"\0" * 100, mode=0o4755)


def _tar(entries: list[kit.Entry]) -> bytes:
    return kit.Layer(entries).tar_bytes()


def _members(entries: list[kit.Entry]) -> bytes:
    """The members only: no end-of-archive blocks, no record padding."""
    data = _tar(entries).rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512)


def _scan(tmp_path: Path, tar: bytes) -> tuple[int, str, str]:
    layers = [kit.Layer([kit.file("etc/hostname", "h")]), kit.Layer([], tar_override=tar)]
    layout = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    proc = run_cli("scan", f"oci:{layout}:t", "--format", "json", "--quiet",
                   "--scanners", "files", timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def test_bad_header_checksum_in_the_middle_is_exit_2_with_the_offset(tmp_path: Path) -> None:
    first = _members([kit.file("app/a.txt", b"a" * 700)])
    second = bytearray(_tar([SETUID]))
    second[148:156] = b"0000000\0"  # a wrong checksum on the backdoor's header
    code, out, err = _scan(tmp_path, first + bytes(second))
    assert code == 2, err
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("portcullis: error: layer 1 ")
    assert f"offset {len(first)}" in err
    assert "Traceback" not in err


def test_lone_zero_block_is_a_warning_and_what_follows_is_read(tmp_path: Path) -> None:
    first = _members([kit.file("app/a.txt", b"a" * 700)])
    rest = _tar([SETUID])
    code, out, err = _scan(tmp_path, first + b"\0" * 512 + rest)
    assert code == 0, err
    doc = json.loads(out)
    setuid = [f for f in doc["findings"] if f["path"] == "/usr/local/bin/backdoor"]
    assert setuid and setuid[0]["layer"] == 1
    warned = [w for w in doc["warnings"] if w["layer"] == 1]
    assert any("zero block" in w["message"] for w in warned), doc["warnings"]
