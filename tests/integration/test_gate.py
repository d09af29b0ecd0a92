"""The gate end to end: the real CLI in a child process scanning a real image with real
vulnerabilities (the image of test_vuln_scan.py, the session's OSV-built database), with policy
files, suppressions, VEX documents and baselines; every report format written from one scan
and each checked by its own validator."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from junitparser import Error, Failure, JUnitXml

from tests.conftest import run_cli
from tests.fixtures import DATA
from tests.integration.test_report_schema import assert_valid
from tests.integration.test_vuln_scan import _image

SARIF_SCHEMA = json.loads((DATA / "schemas" / "sarif-schema-2.1.0.json").read_text())
# lodash 4.17.11 (layer 2): CVE-2019-10744 CRITICAL, CVE-2021-23337 HIGH;
# requests 2.30.0 (layer 1): CVE-2023-32681 MEDIUM.
LODASH_PURL = "pkg:npm/lodash@4.17.11"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _image(tmp_path_factory.mktemp("gate"), "2.30.0", "4.17.11")


def scan(image: str, *args: str, expect: int) -> tuple[dict[str, Any], str]:
    proc = run_cli("scan", image, "--quiet", "--scanners", "vuln", "--format", "json", *args)
    assert proc.returncode == expect, proc.stderr
    doc = json.loads(proc.stdout)
    assert_valid(doc)
    return doc, proc.stderr


def by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in doc["findings"]}


def blocked(doc: dict[str, Any]) -> dict[str, str]:
    ids = {f["fingerprint"]: f["id"] for f in doc["findings"]}
    return {ids[v["fingerprint"]]: v["rule"] for v in doc["verdict"]["violations"]}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_policy_blocks_with_the_rule_that_fired(image: str, tmp_path: Path) -> None:
    policy = write(tmp_path, "prod.yaml", """version: 1
rules:
  vulnerability:
    - severity: CRITICAL
    - {severity: MEDIUM, packages: [requests]}
""")
    doc, _ = scan(image, "--policy", str(policy), expect=1)
    assert blocked(doc) == {"CVE-2019-10744": f"rules.vulnerability[0] ({policy}:4)",
                            "CVE-2023-32681": f"rules.vulnerability[1] ({policy}:5)"}
    assert doc["verdict"]["policy"] == "policy prod" and doc["verdict"]["blocking"] is True
    report_only, _ = scan(image, "--policy", str(policy), "--no-blocking", expect=0)
    assert report_only["verdict"]["passed"] is False
    assert report_only["verdict"]["blocking"] is False


def test_an_expired_suppression_no_longer_suppresses(image: str, tmp_path: Path) -> None:
    today = date.today()
    template = """version: 1
rules:
  vulnerability: {{severity: HIGH}}
suppressions:
  - id: CVE-2019-10744
    package: lodash
    reason: prototype pollution needs attacker-controlled keys
    expires: {expires}
  - id: GHSA-35jh-r3h4-6jhm
    reason: command injection only through template() (alias of CVE-2021-23337)
"""
    live = write(tmp_path, "live.yaml", template.format(expires=today + timedelta(days=30)))
    doc, stderr = scan(image, "--policy", str(live), expect=0)
    assert by_id(doc)["CVE-2019-10744"]["suppressed"]["reason"] == (
        "prototype pollution needs attacker-controlled keys")
    assert by_id(doc)["CVE-2021-23337"]["suppressed"]["source"] == f"{live}:9"
    assert doc["verdict"]["suppressed"] == 2 and stderr == ""
    assert doc["summary"]["risk_level"] == "MEDIUM"  # the suppressed ones do not count
    expired_on = today - timedelta(days=1)
    old = write(tmp_path, "old.yaml", template.format(expires=expired_on))
    doc, stderr = scan(image, "--policy", str(old), expect=1)
    assert blocked(doc) == {"CVE-2019-10744": f"rules.vulnerability ({old}:3)"}
    assert by_id(doc)["CVE-2019-10744"]["suppressed"] is None
    assert doc["verdict"]["expired_suppressions"] == [{
        "source": f"{old}:5", "expires": expired_on.isoformat(),
        "reason": "prototype pollution needs attacker-controlled keys",
        "matches": "id CVE-2019-10744; package lodash"}]
    assert f"suppression at {old}:5 (id CVE-2019-10744; package lodash) expired on " \
           f"{expired_on.isoformat()}: it no longer suppresses" in stderr


def test_a_baseline_run_with_nothing_new_passes(image: str, tmp_path: Path) -> None:
    first, _ = scan(image, "--fail-on", "low", expect=1)
    old = write(tmp_path, "old.json", json.dumps(first))
    again, _ = scan(image, "--fail-on", "low", "--baseline", str(old), expect=0)
    assert {f["new"] for f in again["findings"]} == {False}
    assert again["verdict"]["baseline"] == {"path": str(old), "known": 3, "new": 0}
    # An earlier report that did not have lodash's findings: only they are new and block.
    first["findings"] = [f for f in first["findings"] if f["package_name"] != "lodash"]
    partial = write(tmp_path, "partial.json", json.dumps(first))
    grown, _ = scan(image, "--fail-on", "low", "--baseline", str(partial), expect=1)
    assert sorted(blocked(grown)) == ["CVE-2019-10744", "CVE-2021-23337"]
    assert by_id(grown)["CVE-2023-32681"]["new"] is False


def test_vex_documents_of_both_formats(image: str, tmp_path: Path) -> None:
    openvex = write(tmp_path, "app.openvex.json", json.dumps({
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/app",
        "author": "app team", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-2019-10744"},
                        "products": [{"@id": LODASH_PURL}], "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path"}]}))
    cdx = write(tmp_path, "app.cdx.json", json.dumps({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "vulnerabilities": [{"id": "CVE-2021-23337",
                             "analysis": {"state": "not_affected",
                                          "justification": "code_not_reachable"},
                             "affects": [{"ref": LODASH_PURL}]}]}))
    bom_path = tmp_path / "bom.cdx.json"
    doc, _ = scan(image, "--fail-on", "high", "--vex", str(openvex), "--vex", str(cdx),
                  "--report", f"cyclonedx={bom_path}", expect=0)
    bom = bom_path.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    analysis = {v["id"]: v.get("analysis") for v in json.loads(bom)["vulnerabilities"]}
    assert analysis["CVE-2019-10744"] == {
        "state": "not_affected", "justification": "code_not_reachable",
        "detail": "vulnerable_code_not_in_execute_path"}  # OpenVEX's word, CycloneDX's name
    assert analysis["CVE-2023-32681"] is None
    marks = {k: f["suppressed"] for k, f in by_id(doc).items()}
    assert marks["CVE-2019-10744"]["by"] == "vex"
    assert marks["CVE-2019-10744"]["source"] == str(openvex)
    assert marks["CVE-2021-23337"]["justification"] == "code_not_reachable"
    assert marks["CVE-2023-32681"] is None
    only_one, _ = scan(image, "--fail-on", "high", "--vex", str(cdx), expect=1)
    assert list(blocked(only_one)) == ["CVE-2019-10744"]


@pytest.mark.parametrize(("option", "content", "message"), [
    ("--policy", "version: 1\nrules:\n  vulnerability:\n    severity: HUGE\n",
     ":4: rules.vulnerability.severity: unknown severity 'HUGE'"),
    ("--vex", '{"statements": []}', "is neither OpenVEX"),
    ("--baseline", "[]", "is not a Portcullis JSON report"),
])
def test_bad_gate_inputs_are_exit_2_with_one_line(image: str, tmp_path: Path, option: str,
                                                  content: str, message: str) -> None:
    path = write(tmp_path, "input", content)
    proc = run_cli("scan", image, "--quiet", option, str(path))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and message in lines[0], lines
    assert proc.stdout == ""


def test_every_format_from_one_scan(image: str, tmp_path: Path) -> None:
    out = {fmt: tmp_path / f"report.{ext}" for fmt, ext in (
        ("json", "json"), ("sarif", "sarif"), ("junit", "xml"), ("cyclonedx", "cdx.json"),
        ("spdx-json", "spdx.json"))}
    args = [a for fmt, path in out.items() for a in ("--report", f"{fmt}={path}")]
    proc = run_cli("scan", image, "--quiet", "--fail-on", "high", *args)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out["json"].read_text())
    assert_valid(doc)
    assert sorted(blocked(doc)) == ["CVE-2019-10744", "CVE-2021-23337"]

    sarif = json.loads(out["sarif"].read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    run = sarif["runs"][0]
    assert sorted(r["id"] for r in run["tool"]["driver"]["rules"]) == [
        "CVE-2019-10744", "CVE-2021-23337", "CVE-2023-32681"]
    results = {r["ruleId"]: r for r in run["results"]}
    lodash = results["CVE-2019-10744"]
    assert lodash["level"] == "error" and lodash["properties"]["layer"] == 2
    assert lodash["properties"]["blocking"] is True
    assert lodash["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "app/node_modules/lodash/package.json", "uriBaseId": "IMAGE_ROOT"}
    assert results["CVE-2023-32681"]["properties"]["blocking"] is False
    assert results["CVE-2023-32681"]["properties"]["layer"] == 1
    fingerprints = {f["fingerprint"] for f in doc["findings"]}
    assert {r["partialFingerprints"]["portcullisFingerprint/v1"]
            for r in run["results"]} == fingerprints

    xml = JUnitXml.fromfile(str(out["junit"]))
    suites = {suite.name: suite for suite in xml}
    assert "vuln" in suites and "packages" not in suites
    vuln = suites["vuln"]
    failures = {case.name: [r for r in case.result if isinstance(r, Failure)] for case in vuln}
    assert sorted(failures) == ["CVE-2019-10744 lodash 4.17.11", "CVE-2021-23337 lodash 4.17.11"]
    assert vuln.failures == 2 and vuln.tests == 2 and xml.failures == 2
    assert all("--fail-on HIGH" in (f[0].text or "") for f in failures.values())
    assert not [r for s in suites.values() for c in s for r in c.result if isinstance(r, Error)]

    cyclonedx = out["cyclonedx"].read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cyclonedx) is None
    bom = json.loads(cyclonedx)
    assert {c["name"] for c in bom["components"]} >= {"lodash", "requests"}
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert sorted(vulns) == ["CVE-2019-10744", "CVE-2021-23337", "CVE-2023-32681"]
    assert vulns["CVE-2019-10744"]["affects"] == [{"ref": LODASH_PURL}]
    assert vulns["CVE-2019-10744"]["ratings"][0]["severity"] == "critical"
    assert vulns["CVE-2019-10744"]["recommendation"] == "upgrade to 4.17.12"
    assert json.loads(out["spdx-json"].read_text())["spdxVersion"] == "SPDX-2.3"

    # The default stdout report is the table, also when stdout is not a terminal.
    assert proc.stdout.splitlines()[0] == image
    assert "verdict: FAILED (blocking), fail-on HIGH: 2 blocking" in proc.stdout
    assert "\x1b[" not in proc.stdout  # no colour codes in a log


def test_junit_and_sarif_of_a_clean_scan(image: str, tmp_path: Path) -> None:
    junit, sarif = tmp_path / "r.xml", tmp_path / "r.sarif"
    policy = write(tmp_path, "p.yaml", "version: 1\nsuppressions:\n  - package: lodash\n"
                                       "    reason: replaced next sprint\n")
    proc = run_cli("scan", image, "--quiet", "--scanners", "vuln", "--fail-on", "high",
                   "--policy", str(policy), "--report", f"junit={junit}",
                   "--report", f"sarif={sarif}")
    assert proc.returncode == 0, proc.stderr
    suites = {suite.name: suite for suite in JUnitXml.fromfile(str(junit))}
    assert list(suites) == ["vuln"]
    assert [case.name for case in suites["vuln"]] == ["no blocking vuln findings"]
    assert suites["vuln"].failures == 0
    doc = json.loads(sarif.read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    suppressed = [r for r in doc["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == 2
    assert suppressed[0]["suppressions"][0]["justification"] == (
        f"suppression ({policy}:3): replaced next sprint")


def test_the_table_has_colour_only_on_a_terminal(image: str) -> None:
    """stdout a real pseudo-terminal: the same table, in colour."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(COLUMNS="80", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "portcullis", "scan", image, "--quiet",
                             "--scanners", "vuln", "--fail-on", "critical"],
                            stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=300) == 1
    out = b"".join(chunks).decode()
    assert "\x1b[" in out  # colour codes
    assert "FAILED" in out and "CVE-2019-10744" in out
