"""SBOM writers: CycloneDX 1.6 JSON and SPDX 2.3 JSON, validated against their schemas/tools."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from msgspec.structs import replace
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from portcullis.analyze.declared import merge_declared
from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.image import ImageConfig, ImageInfo, build_layers
from portcullis.model.package import Package
from portcullis.model.report import Report
from portcullis.report.base import writers
from portcullis.report.cyclonedx import write_cyclonedx
from portcullis.report.spdx import write_spdx_json
from tests.images import kit

DIFF_IDS = ("sha256:" + "1" * 64, "sha256:" + "2" * 64)
BLOBS = ("sha256:" + "a" * 64, "sha256:" + "b" * 64)
MANIFEST = "sha256:" + "c" * 64
CONFIG = "sha256:" + "d" * 64


def _report() -> Report:
    config = ImageConfig(diff_ids=DIFF_IDS, history=())
    layers = build_layers(config, list(BLOBS), [100, 200])
    info = ImageInfo(
        reference="registry:127.0.0.1:5000/team/app:1.0",
        source="registry",
        manifest_digest=MANIFEST,
        config_digest=CONFIG,
        config=config,
        layers=layers,
    )
    distro = Distro(family="debian", name="Debian GNU/Linux", version="12",
                    version_codename="bookworm", pretty_name="Debian GNU/Linux 12 (bookworm)",
                    source_path="/etc/os-release", layer=0)
    packages = (
        Package(name="openssl", version="3.0.11-1~deb12u2", type="deb",
                purl="pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
                locations=(Location(path="/var/lib/dpkg/status", layer=0),), introduced_in=0,
                found_by="dpkg", source_name="openssl", licenses=("Apache-2.0",)),
        Package(name="requests", version="2.31.0", type="pypi",
                purl="pkg:pypi/requests@2.31.0",
                locations=(Location(
                    path="/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
                    layer=1),),
                introduced_in=1, found_by="python",
                licenses=("Apache-2.0", "Some Custom License v2")),
        Package(name="@babel/core", version="7.23.0", type="npm",
                purl="pkg:npm/%40babel/core@7.23.0",
                locations=(Location(path="/app/node_modules/@babel/core/package.json", layer=1),),
                introduced_in=1, found_by="npm", licenses=("MIT OR Apache-2.0",)),
        Package(name="zlib1g", version="1:1.2.13.dfsg-1", type="deb",
                purl="pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12",
                locations=(Location(path="/var/lib/dpkg/status", layer=0),), introduced_in=0,
                found_by="dpkg", source_name="zlib", licenses=("Zlib", "ACME proprietary")),
    )
    return Report(tool_version="0.1.0",
                  created_at=datetime(2026, 11, 26, 21, 0, 0, tzinfo=UTC),
                  image=info, distro=distro, packages=packages)


def _render(write: Any, report: Report) -> str:
    buf = io.StringIO()
    write(report, buf, False)
    return buf.getvalue()


def _validate_cyclonedx(text: str) -> dict[str, Any]:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)
    doc: dict[str, Any] = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    return doc


def _validate_spdx(text: str, tmp_path: Path, name: str = "sbom.spdx.json") -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    document = parse_file(str(path))
    messages = validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]


def _props(component: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in component.get("properties", []):
        out.setdefault(prop["name"], []).append(prop["value"])
    return out


def test_formats_are_registered() -> None:
    found = writers()
    assert "cyclonedx" in found and "spdx-json" in found


def test_cyclonedx_is_valid_1_6_with_root_and_layers() -> None:
    doc = _validate_cyclonedx(_render(write_cyclonedx, _report()))
    meta = doc["metadata"]
    assert meta["timestamp"].startswith("2026-11-26T21:00:00")
    root = meta["component"]
    assert root["type"] == "container"
    assert root["name"] == "registry:127.0.0.1:5000/team/app:1.0"
    assert root["version"] == CONFIG
    assert root["purl"] == (f"pkg:oci/app@{MANIFEST}"
                            "?arch=amd64&repository_url=127.0.0.1:5000/team/app&tag=1.0")
    assert root["bom-ref"] == root["purl"]
    assert doc["serialNumber"].startswith("urn:uuid:")
    assert [t["name"] for t in meta["tools"]["components"]] == ["portcullis"]

    components = doc["components"]
    by_name = {c["name"]: c for c in components}
    assert set(by_name) == {"debian", "openssl", "requests", "@babel/core", "zlib1g"}
    assert by_name["debian"]["type"] == "operating-system"
    assert by_name["debian"]["version"] == "12"
    for name in ("openssl", "requests", "@babel/core", "zlib1g"):
        assert by_name[name]["type"] == "library"
        assert by_name[name]["bom-ref"] == by_name[name]["purl"]
    for component in components:
        props = _props(component)
        assert "portcullis:layer:index" in props, component["name"]
    openssl = _props(by_name["openssl"])
    assert openssl["portcullis:layer:index"] == ["0"]
    assert openssl["portcullis:layer:diff_id"] == [DIFF_IDS[0]]
    assert openssl["portcullis:layer:digest"] == [BLOBS[0]]
    assert openssl["portcullis:path"] == ["/var/lib/dpkg/status"]
    assert openssl["portcullis:found_by"] == ["dpkg"]
    assert _props(by_name["@babel/core"])["portcullis:layer:diff_id"] == [DIFF_IDS[1]]
    assert by_name["@babel/core"]["purl"] == "pkg:npm/%40babel/core@7.23.0"

    assert by_name["openssl"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert by_name["@babel/core"]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    requests_licenses = by_name["requests"]["licenses"]
    assert {"license": {"id": "Apache-2.0"}} in requests_licenses
    assert {"license": {"name": "Some Custom License v2"}} in requests_licenses

    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert sorted(deps[root["bom-ref"]]) == sorted(c["bom-ref"] for c in components)


def test_spdx_is_valid_2_3(tmp_path: Path) -> None:
    text = _render(write_spdx_json, _report())
    _validate_spdx(text, tmp_path)
    doc = json.loads(text)
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert doc["creationInfo"]["created"] == "2026-11-26T21:00:00Z"
    assert doc["creationInfo"]["creators"] == ["Tool: portcullis-0.1.0"]
    packages = {p["name"]: p for p in doc["packages"]}
    image = packages["registry:127.0.0.1:5000/team/app:1.0"]
    assert image["primaryPackagePurpose"] == "CONTAINER"
    assert {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
            "relatedSpdxElement": image["SPDXID"]} in doc["relationships"]
    contained = {r["relatedSpdxElement"] for r in doc["relationships"]
                 if r["relationshipType"] == "CONTAINS" and r["spdxElementId"] == image["SPDXID"]}
    assert contained == {p["SPDXID"] for p in doc["packages"]} - {image["SPDXID"]}
    assert packages["debian"]["primaryPackagePurpose"] == "OPERATING-SYSTEM"

    openssl = packages["openssl"]
    assert openssl["licenseDeclared"] == "Apache-2.0"
    assert openssl["externalRefs"] == [{
        "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
        "referenceLocator": "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
    }]
    assert openssl["comment"].startswith(f"layer 0 {DIFF_IDS[0]}")
    assert packages["@babel/core"]["comment"].startswith(f"layer 1 {DIFF_IDS[1]}")
    assert packages["@babel/core"]["licenseDeclared"] == "MIT OR Apache-2.0"
    declared = packages["requests"]["licenseDeclared"]
    assert "Apache-2.0 AND LicenseRef-Some-Custom-License-v2-" in declared
    refs = {e["licenseId"]: e["extractedText"] for e in doc["hasExtractedLicensingInfos"]}
    assert "Some Custom License v2" in refs.values()
    assert "ACME proprietary" in refs.values()


def _with_declared(report: Report) -> Report:
    """The report plus a pinned requirement merged into its installed dist, and one declared
    only (what analyze/declared.py makes of requirements.txt next to site-packages)."""
    metadata = "/usr/local/lib/python3.11/site-packages/idna-3.4.dist-info/METADATA"
    installed = Package(name="idna", version="3.4", type="python", purl="pkg:pypi/idna@3.4",
                        locations=(Location(path=metadata, layer=1),), introduced_in=1,
                        found_by="python-installed")
    pinned = replace(installed, version="3.4.0", purl="pkg:pypi/idna@3.4.0", declared=True,
                     locations=(Location(path="/app/requirements.txt", layer=1, line=1),),
                     found_by="python-lockfile")
    only = replace(pinned, name="flask", version="2.0.1", purl="pkg:pypi/flask@2.0.1",
                   locations=(Location(path="/app/requirements.txt", layer=1, line=2),))
    packages = merge_declared([*report.packages, installed, pinned, only])
    return replace(report, packages=tuple(packages))


def test_merged_and_declared_packages_validate(tmp_path: Path) -> None:
    report = _with_declared(_report())
    doc = _validate_cyclonedx(_render(write_cyclonedx, report))
    by_name = {c["name"]: _props(c) for c in doc["components"]}
    assert sorted(by_name["idna"]["portcullis:path"]) == [  # CycloneDX sorts properties
        "/app/requirements.txt",
        "/usr/local/lib/python3.11/site-packages/idna-3.4.dist-info/METADATA"]
    assert "portcullis:package:declared" not in by_name["idna"]
    assert by_name["flask"]["portcullis:package:declared"] == ["true"]
    assert by_name["flask"]["portcullis:path"] == ["/app/requirements.txt"]

    text = _render(write_spdx_json, report)
    _validate_spdx(text, tmp_path)
    spdx = {p["name"]: p for p in json.loads(text)["packages"]}
    assert spdx["idna"]["sourceInfo"].endswith(
        "idna-3.4.dist-info/METADATA, /app/requirements.txt")
    assert spdx["flask"]["sourceInfo"] == "found by python-lockfile; at /app/requirements.txt"


@pytest.mark.parametrize("write", [write_cyclonedx, write_spdx_json])
def test_output_is_byte_identical_across_runs(write: Any) -> None:
    assert _render(write, _report()) == _render(write, _report())


def test_empty_report_without_distro_or_digest(tmp_path: Path) -> None:
    info = ImageInfo(reference="dir:/srv/rootfs", source="dir", manifest_digest=None,
                     config_digest=None, config=ImageConfig(), layers=())
    report = Report(tool_version="0.1.0", created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    image=info, distro=None)
    doc = _validate_cyclonedx(_render(write_cyclonedx, report))
    assert doc["metadata"]["component"]["type"] == "container"
    assert "purl" not in doc["metadata"]["component"]
    _validate_spdx(_render(write_spdx_json, report), tmp_path)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portcullis", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, check=False)


def test_cli_cyclonedx_and_spdx_on_kit_image(tmp_path: Path) -> None:
    layout = kit.write_oci_layout(tmp_path / "oci", kit.sample_image(), ref="latest")
    ref = f"oci:{layout}:latest"
    result = _cli("scan", ref, "--format", "cyclonedx", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = _validate_cyclonedx(result.stdout)
    root = doc["metadata"]["component"]
    assert root["type"] == "container" and root["name"] == ref
    assert root["purl"].startswith("pkg:oci/")

    result = _cli("scan", ref, "--format", "spdx-json", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    _validate_spdx(result.stdout, tmp_path, "cli.spdx.json")
