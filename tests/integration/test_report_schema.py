"""Real JSON reports validate against docs/report.schema.json, and docs/report.md's rules hold.

Reports come from the CLI scanning real images: the example image of examples/, the sample
image in every archive form, a rootfs directory, a "kitchen sink" image built to make every
finding, warning and nullable field this version can produce, and the real Debian test image.
The schema is checked to be strict: a renamed, missing or extra field fails it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from portcullis.analyze.base import SCANNERS
from portcullis.model.finding import KINDS
from tests.conftest import run_cli
from tests.images import kit
from tests.images.debian import DebianImage
from tests.images.kit import Entry, Layer, directory, file, whiteout

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SEVERITY_ORDER = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]

Report = dict[str, Any]


def scan(ref: str, *extra: str, expect: int = 0) -> Report:
    result = run_cli("scan", ref, "--format", "json", "--quiet", *extra)
    assert result.returncode == expect, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def errors(doc: Report) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATOR.iter_errors(doc)]


def assert_valid(doc: Report) -> None:
    assert errors(doc) == []
    assert_documented_rules(doc)


def fingerprint(finding: dict[str, Any]) -> str:
    """As docs/report.md says: sha256 over [kind, id, path, line, package], plus the layer
    for a hidden version."""
    parts = [finding["kind"], finding["id"], finding["path"], finding["line"],
             finding.get("package")]
    if not finding["visible"]:
        parts.append(finding["layer"])
    return "sha256:" + hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def assert_documented_rules(doc: Report) -> None:
    """The rules of docs/report.md a JSON Schema cannot say."""
    layers = len(doc["artifact"]["layers"])
    packages = doc["packages"]
    assert packages == sorted(packages, key=lambda p: (p["type"], p["name"], p["version"],
                                                      p["path"] or ""))
    findings = doc["findings"]
    assert findings == sorted(findings, key=lambda f: (
        SEVERITY_ORDER.index(f["severity"]), f["kind"], f["id"], f["path"] or "", f["line"] or 0))
    warnings = doc["warnings"]
    assert warnings == sorted(warnings, key=lambda w: (
        -1 if w["layer"] is None else w["layer"], w["path"] or "", w["analyzer"] or "",
        w["message"]))
    assert list(doc["scanners"]) == sorted(doc["scanners"])
    assert list(doc["summary"]["by_kind"]) == sorted(doc["summary"]["by_kind"])
    assert list(doc["summary"]["by_severity"]) == SEVERITY_ORDER
    largest = doc["files"]["largest"]
    assert largest == sorted(largest, key=lambda x: (-x["size"], x["path"]))
    assert [layer["index"] for layer in doc["artifact"]["layers"]] == list(range(layers))
    for item in [*packages, *findings, *warnings, *largest]:
        assert item["layer"] is None or item["layer"] < layers, item
    for f in findings:
        assert f["fingerprint"] == fingerprint(f), f
    assert len({f["fingerprint"] for f in findings}) == len(findings)
    by_severity = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITY_ORDER}
    assert doc["summary"]["by_severity"] == by_severity
    kinds = sorted({f["kind"] for f in findings})
    assert doc["summary"]["by_kind"] == {k: sum(f["kind"] == k for f in findings) for k in kinds}
    counted = {f["severity"] for f in findings if f["suppressed"] is None}
    worst = next((s for s in SEVERITY_ORDER if s in counted), None)
    assert doc["summary"]["risk_level"] == worst  # suppressed findings do not count
    base = doc["base_image"]
    for item in [*packages, *findings]:
        if base is None or base["last_layer"] is None or item["layer"] is None:
            assert item["from_base_image"] is None, item
        else:
            assert item["from_base_image"] is (item["layer"] <= base["last_layer"]), item
    fingerprints = {f["fingerprint"] for f in findings}
    assert {v["fingerprint"] for v in doc["verdict"]["violations"]} <= fingerprints
    assert doc["verdict"]["suppressed"] == sum(1 for f in findings if f["suppressed"])


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert set(SCHEMA["properties"]["scanners"]["required"]) == set(SCANNERS)
    assert set(SCHEMA["$defs"]["other_finding"]["properties"]["kind"]["enum"]) == set(KINDS)


def kitchen_sink() -> kit.ImageSpec:
    """An image that makes every kind of file finding, warnings with and without an analyzer,
    packages with and without licenses, and a base image known from an annotation."""
    passwd = "root:x:0:0:root:/root:/bin/sh\n"
    status = ("Package: libfoo1\nStatus: install ok installed\nArchitecture: amd64\n"
              "Source: foo\nVersion: 1.0-1\nDescription: foo\n")
    copyright_ = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
                  "Files: *\nCopyright: 2024 Someone\nLicense: MIT\n")
    metadata = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"
    base = Layer([
        directory("etc"),
        file("etc/os-release", 'ID=debian\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'),
        file("etc/passwd", passwd),
        file("etc/group", "root:x:0:\n"),
        file("var/lib/dpkg/status", status),
        file("usr/share/doc/libfoo1/copyright", copyright_),
        file("usr/bin/passwd", b"\x7fELF" + b"\0" * 60, mode=0o4755),
        file("opt/big.bin", b"\0" * (3 << 19)),  # 1.5 MiB, deleted later: wasted space
    ], created_by="ADD rootfs.tar /")
    app = Layer([
        file("app/tool", b"#!/bin/sh\n", mode=0o6755, uid=1000, gid=1000),
        file("app/data", "shared", mode=0o666),
        directory("srv/drop", mode=0o777),
        file("tmp/run.sh", "#!/bin/sh\n", mode=0o755),
        Entry("app/mem", "char"),
        Entry("app/disk", "block"),
        file("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", metadata),
        file("app/package-lock.json", "{ not json"),
        file("../escape", "climbs above the root"),
    ], created_by="COPY app /app")
    cleanup = Layer([whiteout("opt/big.bin")], created_by="RUN rm /opt/big.bin")
    return kit.ImageSpec(
        layers=[base, app, cleanup],
        config={"Cmd": ["/app/tool"], "Labels": {"org.example": "x"},
                "Healthcheck": {"Test": ["CMD", "/app/tool", "--check"]}},
        empty_history=[(1, 'CMD ["bash"]')],
        annotations={"org.opencontainers.image.base.name": "docker.io/library/debian:12"},
    )


@pytest.fixture(scope="module")
def sink_ref(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("sink")
    kit.write_oci_layout(root / "oci", kitchen_sink(), ref="1.0")
    return f"oci:{root / 'oci'}:1.0"


@pytest.fixture(scope="module")
def sink_report(sink_ref: str) -> Report:
    return scan(sink_ref, "--fail-on", "medium", expect=1)


def test_kitchen_sink_report_is_valid_and_covers_the_schema(sink_report: Report) -> None:
    doc = sink_report
    assert_valid(doc)
    # The image makes what the schema describes, so the schema was exercised, not skipped.
    file_ids = {f["id"] for f in doc["findings"] if f["kind"] == "file"}
    # Baseline findings and results are validated above too (root user, missing labels).
    assert {"docker-root-user", "docker-oci-labels"} <= {
        f["id"] for f in doc["findings"] if f["kind"] == "baseline"}
    assert doc["baselines"][0]["name"] == "CIS Docker 4"
    assert file_ids == set(SCHEMA["$defs"]["file_finding"]["properties"]["id"]["enum"])
    extras = set(SCHEMA["$defs"]["file_finding"]["properties"]) - set(
        SCHEMA["$defs"]["other_finding"]["properties"])
    seen = {key for f in doc["findings"] for key in f}
    assert extras <= seen
    assert any(not f["visible"] for f in doc["findings"])
    assert {p["type"] for p in doc["packages"]} == {"deb", "python"}
    assert any(p["licenses"] for p in doc["packages"])
    assert any(p["source_name"] for p in doc["packages"])
    assert doc["base_image"]["method"] == "annotation"
    assert doc["base_image"]["name"] == "debian"
    assert doc["base_image"]["last_layer"] == 0
    assert {p["from_base_image"] for p in doc["packages"]} == {True, False}
    assert any(w["analyzer"] is None and w["path"] for w in doc["warnings"])
    assert any(w["analyzer"] == "npm" for w in doc["warnings"])
    assert doc["artifact"]["config"]["healthcheck"] == {"Test": ["CMD", "/app/tool", "--check"]}
    assert doc["verdict"]["passed"] is False
    assert doc["verdict"]["policy"] == "fail-on MEDIUM"
    assert doc["files"]["wasted_bytes"] == 3 << 19


def test_example_image_report_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "example"
    subprocess.run([sys.executable, str(REPO / "examples" / "make_example_image.py"), str(out)],
                   check=True, capture_output=True, timeout=60)
    assert_valid(scan(f"oci:{out}:latest"))


def test_every_archive_form_gives_a_valid_report(sample_formats: dict[str, str]) -> None:
    for name, ref in sample_formats.items():
        doc = scan(ref)
        assert errors(doc) == [], name
        assert_documented_rules(doc)


def test_rootfs_and_no_scanner_reports_are_valid(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=alpine\nVERSION_ID=3.19.1\n")
    doc = scan(f"dir:{root}")
    assert_valid(doc)
    assert doc["artifact"]["manifest_digest"] is None
    none = scan(f"dir:{root}", "--scanners", "none")
    assert_valid(none)
    assert {s["status"] for s in none["scanners"].values()} == {"skipped"}
    assert none["files"]["per_layer"] == []


@pytest.mark.slow
def test_real_debian_report_is_valid(debian: DebianImage) -> None:
    assert_valid(scan(f"oci:{debian.oci_dir}:{debian.ref}"))


# --- the schema is strict: these mutations of a real report must fail ----------------------


def mutated(doc: Report, change: Any) -> list[str]:
    copy_ = copy.deepcopy(doc)
    change(copy_)
    return errors(copy_)


def _rename(obj: dict[str, Any], old: str, new: str) -> None:
    obj[new] = obj.pop(old)


MUTATIONS = {
    "top-level key missing": lambda d: d.pop("warnings"),
    "unknown top-level key": lambda d: d.update(extra=1),
    "package field renamed": lambda d: _rename(d["packages"][0], "purl", "package_url"),
    "package field missing": lambda d: d["packages"][0].pop("from_base_image"),
    "layer field renamed": lambda d: _rename(d["artifact"]["layers"][0], "diff_id", "diffid"),
    "file finding with an unknown field": lambda d: d["findings"][0].update(cvss=9.8),
    "finding without fingerprint": lambda d: d["findings"][0].pop("fingerprint"),
    "warning field renamed": lambda d: _rename(d["warnings"][0], "message", "text"),
    "scanner missing": lambda d: d["scanners"].pop("files"),
    "failed scanner without a reason": lambda d: d["scanners"]["files"].update(
        status="failed", message=None),
    "severity lower-case": lambda d: d["findings"][0].update(severity="high"),
    "verdict passed with violations": lambda d: d["verdict"].update(passed=True),
    "layer as a string": lambda d: d["packages"][0].update(layer="1"),
    "null where a list is due": lambda d: d["artifact"].update(repo_tags=None),
    "base image field renamed": lambda d: _rename(d["base_image"], "last_layer", "last"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_schema_rejects(sink_report: Report, name: str) -> None:
    assert mutated(sink_report, MUTATIONS[name]) != []
