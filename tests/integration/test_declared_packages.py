"""The whole CLI on an image whose application ships a requirements.txt next to what pip
installed: one entry per installed dist, lock-only and disagreeing pins kept and marked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.images import kit
from tests.unit.test_sbom_writers import _props, _validate_cyclonedx, _validate_spdx

SITE = "usr/local/lib/python3.11/site-packages"
REQUIREMENTS = """\
# pinned by pip-compile
django==2.2.0
Requests==2.30.0
flask==2.0.1
oddball==2.2.x
"""


def _metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


def _image(tmp_path: Path) -> str:
    spec = kit.ImageSpec(layers=[
        kit.Layer([kit.file(f"{SITE}/Django-2.2.dist-info/METADATA", _metadata("Django", "2.2")),
                   kit.file(f"{SITE}/requests-2.31.0.dist-info/METADATA",
                            _metadata("requests", "2.31.0"))],
                  created_by="RUN pip install -r requirements.txt"),
        kit.Layer([kit.file("app/requirements.txt", REQUIREMENTS)], created_by="COPY . /app"),
    ])
    layout = kit.write_oci_layout(tmp_path / "oci", spec)
    return f"oci:{layout}:latest"


def _scan(ref: str, fmt: str) -> str:
    result = run_cli("scan", ref, "--format", fmt, "--quiet", "--scanners", "packages")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_json_lists_each_installed_dist_once(tmp_path: Path) -> None:
    doc = json.loads(_scan(_image(tmp_path), "json"))
    # no OS in this image: that is the only warning
    assert [w["analyzer"] for w in doc["warnings"]] == ["os-release"]
    found = {(p["name"], p["version"], p["path"], p["layer"], p["declared"])
             for p in doc["packages"] if p["type"] == "python"}
    metadata = f"/{SITE}/%s.dist-info/METADATA"
    assert found == {
        # django==2.2.0 is Django 2.2 (PEP 440, PEP 503): merged, the installed layer kept
        ("Django", "2.2", metadata % "Django-2.2", 0, False),
        # the pin and the image disagree: both listed, the pin marked
        ("requests", "2.31.0", metadata % "requests-2.31.0", 0, False),
        ("Requests", "2.30.0", "/app/requirements.txt", 1, True),
        # pinned but not installed
        ("flask", "2.0.1", "/app/requirements.txt", 1, True),
        # not a PEP 440 version: kept as written, no crash
        ("oddball", "2.2.x", "/app/requirements.txt", 1, True),
    }


def test_sboms_validate_and_carry_both_locations(tmp_path: Path) -> None:
    ref = _image(tmp_path)
    doc: dict[str, Any] = _validate_cyclonedx(_scan(ref, "cyclonedx"))
    python = {(c["name"], c["version"]): _props(c) for c in doc["components"]
              if c.get("purl", "").startswith("pkg:pypi/")}
    assert len(python) == 5
    django = python["Django", "2.2"]
    assert sorted(django["portcullis:path"]) == [
        "/app/requirements.txt", f"/{SITE}/Django-2.2.dist-info/METADATA"]
    assert "portcullis:package:declared" not in django
    assert python["flask", "2.0.1"]["portcullis:package:declared"] == ["true"]
    assert "portcullis:package:declared" not in python["requests", "2.31.0"]
    assert python["Requests", "2.30.0"]["portcullis:package:declared"] == ["true"]

    _validate_spdx(_scan(ref, "spdx-json"), tmp_path)
