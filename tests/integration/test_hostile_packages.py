"""Issue 8, end to end: an image full of hostile package files scans with exit 0, every bad
file is a warning with its path, the good files next to them are still in the inventory, and
the whole run stays within a stated time bound (about 8 s measured on a loaded 2-core
machine; the bound is generous)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.analyzers.test_hostile_inputs import DEEP, _central_directory, _package_json
from tests.conftest import run_cli
from tests.images import kit

SITE = "usr/lib/python3/dist-packages"


def test_an_image_of_hostile_package_files_scans_with_located_warnings(tmp_path: Path) -> None:
    status = (b"Package: big\nStatus: install ok installed\nVersion: 1.0\nArchitecture: all\n"
              b"Description: x\n" + b" y\n" * 1_600_000)
    layers = [kit.Layer([
        kit.file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
        kit.file("var/lib/dpkg/status", status),
        kit.file("app/node_modules/good/package.json", _package_json("good", "1.0.0")),
        kit.file("app/node_modules/deep/package.json", b"[" * DEEP + b"]" * DEEP),
        kit.file("srv/Pipfile.lock", b'{"default": ' + b'{"a": ' * DEEP),
        kit.file(f"{SITE}/bad-1.0.dist-info/METADATA",
                 b"Metadata-Version: 2.1\nName: bad\xff\nVersion: 1.0\xc3\nLicense: MIT AND\n"),
        kit.file(f"{SITE}/blank-1.0.dist-info/METADATA",
                 b"Metadata-Version: 1.0\nName: blank\nVersion: 1.0\nDescription: x\n"
                 + b"\n" * 240_000 + b"        end\n"),
        kit.file("opt/huge.jar", _central_directory(600_000)),
    ])]
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    started = time.perf_counter()
    result = run_cli("scan", f"oci:{root}:t", "--format", "json", "--quiet",
                     "--scanners", "packages", timeout=300)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 120
    report = json.loads(result.stdout)
    found = {(p["name"], p["version"]) for p in report["packages"]}
    assert {("big", "1.0"), ("good", "1.0.0"), ("blank", "1.0")} <= found
    assert any(name.startswith("bad") for name, _ in found)
    warned = {(w["path"], w["analyzer"]) for w in report["warnings"]}
    assert ("/app/node_modules/deep/package.json", "npm") in warned
    assert ("/srv/Pipfile.lock", "python") in warned
    assert ("/opt/huge.jar", "java") in warned
    assert len(report["warnings"]) < 20
