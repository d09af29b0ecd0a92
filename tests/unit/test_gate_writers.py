"""The sarif and junit writers on findings the vuln image cannot make: no path, file names
that are not UTF-8 or hold control characters, findings of the kinds other scanners add."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
from junitparser import Failure, JUnitXml
from msgspec.structs import replace

from portcullis.model.finding import Severity
from portcullis.model.report import Report, ScannerResult
from portcullis.policy.verdict import Gate, apply_gate
from portcullis.report.junit import write_junit
from portcullis.report.sarif import write_sarif
from tests.fixtures import DATA
from tests.unit.test_gate import TODAY, other, report, vuln

SARIF_SCHEMA = json.loads((DATA / "schemas" / "sarif-schema-2.1.0.json").read_text())
ODD_PATH = "/srv/caf\udce9 \x07bell [x].txt"  # a Latin-1 byte, a control character, brackets


def judged() -> Report:
    findings = (vuln("CVE-1", "HIGH"), other("baseline", "root-user", "HIGH", path=None),
                other("secret", "aws-access-key", "CRITICAL", path=ODD_PATH, match="AKIA****"),
                other("malware", "eicar", "LOW", path="/tmp/eicar.com"))
    base = report(*findings)
    scanners = {name: ScannerResult(status="ok") for name in
                ("vuln", "secret", "malware", "baseline", "packages")}
    scanners["compliance"] = ScannerResult(status="failed", message="bad \x1b data")
    return apply_gate(replace(base, scanners=scanners), Gate(fail_on=Severity.HIGH), TODAY)


def test_sarif_is_valid_with_odd_paths_and_pathless_findings() -> None:
    out = io.StringIO()
    write_sarif(judged(), out)
    doc = json.loads(out.getvalue())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    results = {r["ruleId"]: r for r in doc["runs"][0]["results"]}
    root_user = results["root-user"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert root_user == {"uri": "oci:/img:t"}
    odd = results["aws-access-key"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert odd["uri"] == "srv/caf%E9%20%07bell%20%5Bx%5D.txt"
    assert results["aws-access-key"]["properties"]["blocking"] is True
    assert results["eicar"]["level"] == "note"


def test_junit_has_a_suite_per_scan_item_and_survives_odd_text(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    with path.open("w", encoding="utf-8", errors="backslashreplace") as out:
        write_junit(judged(), out)
    xml = JUnitXml.fromfile(str(path))
    suites = {s.name: s for s in xml}
    assert list(suites) == ["vuln", "secret", "malware", "baseline", "compliance"]
    failing = {s.name: [c.name for c in s if any(isinstance(r, Failure) for r in c.result)]
               for s in xml}
    assert failing == {"vuln": ["CVE-1 lodash 4.17.11"], "secret": [
        "aws-access-key /srv/caf\\udce9 \\x07bell [x].txt"], "malware": [],
        "baseline": ["root-user"], "compliance": []}
    assert [c.name for c in suites["malware"]] == ["no blocking malware findings"]
    assert suites["compliance"].errors == 1 and xml.failures == 3
