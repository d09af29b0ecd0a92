"""The verdict over findings of every kind: rules, suppressions and their expiry, allow and
deny lists, the base image, VEX, baselines and the blocking switch."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from portcullis.errors import PolicyError
from portcullis.model.finding import Finding, Severity
from portcullis.model.image import ImageConfig, ImageInfo
from portcullis.model.report import BaseImageInfo, Report
from portcullis.policy.baseline import Baseline, read_baseline
from portcullis.policy.load import parse_policy
from portcullis.policy.verdict import Gate, apply_gate
from portcullis.policy.vex import read_vex

TODAY = date(2026, 12, 1)
PURL = "pkg:npm/lodash@4.17.11"


def vuln(vid: str, severity: str, *, layer: int = 2, fixed: bool = True, kev: bool = False,
         epss: float | None = None, package: str = "lodash", purl: str = PURL,
         aliases: tuple[str, ...] = ()) -> Finding:
    return Finding(kind="vulnerability", id=vid, severity=Severity[severity],
                   title=f"{vid} title", path=f"/app/node_modules/{package}/package.json",
                   layer=layer, extra={
                       "package": purl, "package_name": package, "installed_version": "4.17.11",
                       "fixed_versions": ["4.17.21"] if fixed else [], "kev": kev, "epss": epss,
                       "aliases": list(aliases)})


def other(kind: str, fid: str, severity: str, *, path: str = "/etc/app.conf", layer: int = 2,
          **extra: Any) -> Finding:
    return Finding(kind=kind, id=fid, severity=Severity[severity], title=f"{kind} {fid}",
                   path=path, layer=layer, extra=extra)


def report(*findings: Finding, reference: str = "oci:/img:t", base_last: int | None = 0,
           ) -> Report:
    base = None if base_last is None else BaseImageInfo(
        name="alpine", version="3.19", os_name="alpine", os_version="3.19", last_layer=base_last,
        layer_digest=None, method="catalog")
    info = ImageInfo(reference=reference, source="oci", manifest_digest="sha256:" + "a" * 64,
                     config_digest=None, config=ImageConfig(), layers=())
    return Report(tool_version="t", created_at=datetime(2026, 12, 1, tzinfo=UTC), image=info,
                  distro=None, findings=findings, base_image=base)


def judge(text: str | None, *findings: Finding, today: date = TODAY, **gate: Any) -> Report:
    policy = parse_policy(text, "p.yaml") if text is not None else None
    return apply_gate(report(*findings), Gate(policy=policy, **gate), today)


def blocked(result: Report) -> dict[str, str]:
    ids = {f.fingerprint: f.id for f in result.findings}
    return {ids[v.fingerprint]: v.rule for v in result.verdict.violations}


def test_vulnerability_rules_each_condition() -> None:
    findings = [vuln("CVE-1", "CRITICAL"), vuln("CVE-2", "HIGH", fixed=False),
                vuln("CVE-3", "HIGH"), vuln("CVE-4", "LOW", kev=True),
                vuln("CVE-5", "MEDIUM", epss=0.7), vuln("CVE-6", "MEDIUM", epss=0.2),
                vuln("CVE-7", "LOW")]
    text = """version: 1
rules:
  vulnerability:
    - severity: CRITICAL
    - {severity: HIGH, only_fixable: true}
    - kev_only: true
    - epss_above: 0.5
"""
    result = judge(text, *findings)
    assert blocked(result) == {
        "CVE-1": "rules.vulnerability[0] (p.yaml:4)",
        "CVE-3": "rules.vulnerability[1] (p.yaml:5)",
        "CVE-4": "rules.vulnerability[2] (p.yaml:6)",
        "CVE-5": "rules.vulnerability[3] (p.yaml:7)",
    }
    assert not result.verdict.passed and result.verdict.exit_blocks
    reason = next(v.reason for v in result.verdict.violations if v.rule.endswith("(p.yaml:5)"))
    assert reason == ("HIGH vulnerability CVE-3 in lodash 4.17.11: rules.vulnerability[1] "
                      "(p.yaml:5) blocks any vulnerability with severity at or above HIGH "
                      "and a fix exists")
    assert result.verdict.policy == "policy p"


def test_rules_cover_every_kind_generically() -> None:
    findings = [other("malware", "eicar", "LOW"),
                other("secret", "aws-access-key", "HIGH", match="AKIA****"),
                other("secret", "generic-password", "LOW"),
                other("sensitive-file", "ssh-private-key", "MEDIUM"),
                other("baseline", "root-user", "HIGH", check="root-user"),
                other("baseline", "no-healthcheck", "LOW", check="no-healthcheck"),
                other("compliance", "banned-nmap", "MEDIUM", category="attack"),
                other("compliance", "license-agpl", "MEDIUM", category="reciprocal"),
                other("compliance", "license-mit", "LOW", category="permissive"),
                other("file", "setuid-binary", "MEDIUM", path="/usr/bin/x")]
    text = """version: 1
rules:
  malware: true
  secret: {severity: MEDIUM}
  sensitive-file: {paths: ["*/ssh*", "/root/*"]}
  baseline: {severity: HIGH}
  compliance:
    - categories: [attack, miner]
    - {where: {category: reciprocal}}
  file: false
"""
    assert blocked(judge(text, *findings)) == {
        "eicar": "rules.malware (p.yaml:3)",
        "aws-access-key": "rules.secret (p.yaml:4)",
        "root-user": "rules.baseline (p.yaml:6)",
        "banned-nmap": "rules.compliance[0] (p.yaml:8)",
        "license-agpl": "rules.compliance[1] (p.yaml:9)",
    }  # ssh-private-key's path (/etc/app.conf) is not under the globs; file never blocks


def test_fail_on_is_a_rule_over_every_kind_and_adds_to_a_policy() -> None:
    findings = [vuln("CVE-1", "HIGH"), other("secret", "s", "HIGH"), other("file", "f", "LOW")]
    alone = judge(None, *findings, fail_on=Severity.HIGH)
    assert set(blocked(alone)) == {"CVE-1", "s"} and alone.verdict.policy == "fail-on HIGH"
    assert set(blocked(alone).values()) == {"--fail-on HIGH"}
    both = judge("version: 1\nrules:\n  file: true\n", *findings, fail_on=Severity.HIGH)
    assert blocked(both) == {"CVE-1": "--fail-on HIGH", "s": "--fail-on HIGH",
                             "f": "rules.file (p.yaml:3)"}
    assert both.verdict.policy == "policy p + fail-on HIGH"
    nothing = judge(None, *findings)
    assert nothing.verdict.passed and nothing.verdict.policy == "fail-on none"


SUPPRESS = """version: 1
rules:
  any: {severity: LOW}
suppressions:
  - id: CVE-1
    reason: not reachable from the app
    expires: 2026-12-01
  - package: "pkg:npm/left-pad*"
    reason: vendored, patched in place
  - path: /opt/fixtures/*
    kind: secret
    image: "oci:/img:*"
    reason: test keys
  - fingerprint: FP
    reason: by fingerprint
"""


def test_suppressions_match_and_stay_in_the_report_marked() -> None:
    hidden = other("secret", "key", "HIGH", path="/opt/fixtures/k.pem")
    by_print = other("baseline", "b", "HIGH")
    findings = [vuln("CVE-1", "HIGH"), vuln("CVE-2", "HIGH", package="left-pad",
                                           purl="pkg:npm/left-pad@1.0.0"),
                hidden, other("secret", "key", "HIGH", path="/srv/k.pem"), by_print]
    result = judge(SUPPRESS.replace("FP", by_print.fingerprint), *findings)
    assert set(blocked(result)) == {"key"} and len(result.verdict.violations) == 1
    docs = {(f["id"], f["path"]): f for f in result.to_dict()["findings"]}
    cve = docs[("CVE-1", "/app/node_modules/lodash/package.json")]
    assert cve["suppressed"] == {"by": "suppression", "reason": "not reachable from the app",
                                 "source": "p.yaml:5", "expires": "2026-12-01",
                                 "justification": None}
    assert docs[("key", "/opt/fixtures/k.pem")]["suppressed"]["source"] == "p.yaml:10"
    assert docs[("key", "/srv/k.pem")]["suppressed"] is None
    assert result.verdict.suppressed == 4 and result.verdict.expired_suppressions == ()
    assert result.risk_level() == "HIGH"  # the secret still counts
    # the image glob narrows: another image's fixtures are not suppressed
    moved = apply_gate(report(hidden, reference="registry:x/app:1"),
                       Gate(policy=parse_policy(SUPPRESS, "p.yaml")), TODAY)
    assert not moved.verdict.passed


def test_an_expired_suppression_stops_suppressing_and_is_reported() -> None:
    finding = vuln("CVE-1", "HIGH")
    on_the_day = judge(SUPPRESS, finding, today=date(2026, 12, 1))
    assert on_the_day.verdict.passed
    after = judge(SUPPRESS, finding, today=date(2026, 12, 2))
    assert blocked(after) == {"CVE-1": "rules.any (p.yaml:3)"}
    [expired] = after.verdict.expired_suppressions
    assert expired.to_dict() == {"source": "p.yaml:5", "expires": "2026-12-01",
                                 "reason": "not reachable from the app", "matches": "id CVE-1"}
    assert [w.message for w in after.warnings if w.analyzer == "policy"] == [
        "suppression at p.yaml:5 (id CVE-1) expired on 2026-12-01: it no longer suppresses"]
    assert after.to_dict()["findings"][0]["suppressed"] is None


def test_allow_and_deny_lists() -> None:
    text = """version: 1
rules:
  vulnerability: {severity: HIGH}
allow:
  vulnerabilities: ["GHSA-aaaa-*", {id: CVE-3, reason: accepted risk}]
deny:
  vulnerabilities: [CVE-4]
suppressions:
  - id: CVE-4
    reason: this does not beat the deny list
"""
    findings = [vuln("CVE-1", "HIGH", aliases=("GHSA-aaaa-bbbb-cccc",)), vuln("CVE-2", "HIGH"),
                vuln("CVE-3", "CRITICAL"), vuln("CVE-4", "LOW")]
    result = judge(text, *findings)
    assert blocked(result) == {"CVE-2": "rules.vulnerability (p.yaml:3)",
                               "CVE-4": "deny.vulnerabilities (p.yaml:7)"}
    marks = {f["id"]: f["suppressed"] for f in result.to_dict()["findings"]}
    assert marks["CVE-1"]["by"] == "allowlist" and marks["CVE-1"]["reason"] == "on the allowlist"
    assert marks["CVE-3"]["reason"] == "accepted risk" and marks["CVE-4"] is None


def test_an_allowed_image_passes_whatever_it_has() -> None:
    text = 'version: 1\nrules:\n  any: true\nallow:\n  images: ["oci:/img:*"]\n'
    result = judge(text, vuln("CVE-1", "CRITICAL"))
    assert result.verdict.passed and result.verdict.image_allowed == "oci:/img:* (p.yaml:5)"


@pytest.mark.parametrize(("base", "expected"), [
    ("", {"CVE-base", "CVE-app"}),
    ("base_image: ignore\n", {"CVE-app"}),
    ("base_image:\n  rules:\n    vulnerability: {severity: CRITICAL}\n", {"CVE-app", "CVE-crit"}),
])
def test_the_base_image_ignored_or_gated_separately(base: str, expected: set[str]) -> None:
    findings = [vuln("CVE-base", "HIGH", layer=0), vuln("CVE-crit", "CRITICAL", layer=0),
                vuln("CVE-app", "HIGH", layer=2)]
    text = "version: 1\nrules:\n  vulnerability: {severity: HIGH}\n" + base
    assert set(blocked(judge(text, *findings))) == expected | (
        {"CVE-crit"} if not base else set())


def test_a_rule_can_pick_findings_by_origin() -> None:
    text = "version: 1\nrules:\n  any: {from_base_image: false}\n"
    findings = [vuln("CVE-base", "HIGH", layer=0), vuln("CVE-app", "LOW", layer=1)]
    assert set(blocked(judge(text, *findings))) == {"CVE-app"}


def test_report_only_fails_the_verdict_without_blocking() -> None:
    text = "version: 1\nblocking: false\nrules:\n  any: true\n"
    result = judge(text, vuln("CVE-1", "LOW"))
    assert not result.verdict.passed and not result.verdict.exit_blocks
    assert result.to_dict()["verdict"]["blocking"] is False
    forced = judge(text, vuln("CVE-1", "LOW"), blocking=True)
    assert forced.verdict.exit_blocks


def test_baseline_only_new_findings_block(tmp_path: Path) -> None:
    old = judge(None, vuln("CVE-1", "HIGH"), vuln("CVE-2", "CRITICAL"))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old.to_dict()))
    baseline = read_baseline(path)
    assert len(baseline.fingerprints) == 2
    same = judge(None, vuln("CVE-1", "HIGH"), vuln("CVE-2", "CRITICAL"),
                 fail_on=Severity.LOW, baseline=baseline)
    assert same.verdict.passed
    assert same.verdict.baseline == {"path": str(path), "known": 2, "new": 0}
    assert {f["new"] for f in same.to_dict()["findings"]} == {False}
    grown = judge(None, vuln("CVE-1", "HIGH"), vuln("CVE-3", "LOW"), fail_on=Severity.LOW,
                  baseline=baseline)
    assert blocked(grown) == {"CVE-3": "--fail-on LOW"}
    assert {f["id"]: f["new"] for f in grown.to_dict()["findings"]} == {"CVE-1": False,
                                                                        "CVE-3": True}
    assert judge(None, vuln("CVE-1", "HIGH")).to_dict()["findings"][0]["new"] is None


@pytest.mark.parametrize(("content", "message"), [
    ("{", "is not valid JSON"),
    ('{"findings": []}', "is not a Portcullis JSON report"),
    ('{"schema_version": 1, "findings": [{"id": "x"}]}', r"findings\[0\] has no fingerprint"),
])
def test_a_bad_baseline_is_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "old.json"
    path.write_text(content)
    with pytest.raises(PolicyError, match=message):
        read_baseline(path)
    assert Baseline(path="x", fingerprints=frozenset()).fingerprints == frozenset()


OPENVEX = {
    "@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.com/vex/1", "author": "team", "timestamp": "2026-11-01T00:00:00Z",
    "version": 1,
    "statements": [
        {"vulnerability": {"name": "CVE-1"},
         "products": [{"@id": "pkg:oci/app", "subcomponents": [{"@id": "pkg:npm/lodash"}]}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
         "impact_statement": "template() is never called"},
        {"vulnerability": {"name": "CVE-2"}, "products": [{"@id": "pkg:npm/other@1.0"}],
         "status": "not_affected", "justification": "component_not_present"},
        {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:oci/app"}],
         "status": "fixed"},
        {"vulnerability": {"name": "CVE-4"}, "products": [{"@id": "pkg:npm/lodash@4.17.11"}],
         "status": "not_affected", "justification": "inline_mitigations_already_exist"},
        {"vulnerability": {"name": "CVE-4"}, "products": [{"@id": "pkg:npm/lodash@4.17.11"}],
         "status": "affected", "action_statement": "upgrade"},
    ],
}

CYCLONEDX_VEX = {
    "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
    "vulnerabilities": [
        {"id": "CVE-1", "analysis": {"state": "not_affected",
                                     "justification": "code_not_reachable",
                                     "detail": "only the CLI uses it"},
         "affects": [{"ref": "urn:cdx:3e671687/1#pkg:npm/lodash@4.17.11"}]},
        {"id": "CVE-2", "analysis": {"state": "in_triage"},
         "affects": [{"ref": "pkg:npm/lodash@4.17.11"}]},
        {"id": "CVE-3", "analysis": {"state": "false_positive"},
         "affects": [{"ref": "pkg:npm/lodash@9.9.9"}]},
        {"id": "CVE-4"},
    ],
}


def _vex(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(doc))
    return path


def test_openvex_marks_findings_not_affected(tmp_path: Path) -> None:
    path = _vex(tmp_path, OPENVEX)
    statements = tuple(read_vex(path))
    findings = [vuln(f"CVE-{i}", "HIGH") for i in range(1, 5)]
    result = judge(None, *findings, fail_on=Severity.HIGH, vex=statements)
    assert set(blocked(result)) == {"CVE-2", "CVE-4"}  # another package; revoked later
    marks = {f["id"]: f["suppressed"] for f in result.to_dict()["findings"]}
    assert marks["CVE-1"] == {
        "by": "vex", "source": str(path), "expires": None,
        "justification": "vulnerable_code_not_in_execute_path",
        "reason": "vulnerable_code_not_in_execute_path: template() is never called"}
    assert marks["CVE-3"]["reason"] == "fixed" and marks["CVE-4"] is None


def test_cyclonedx_vex_marks_findings_not_affected(tmp_path: Path) -> None:
    statements = tuple(read_vex(_vex(tmp_path, CYCLONEDX_VEX)))
    assert [s.vulnerability for s in statements] == ["CVE-1", "CVE-2", "CVE-3"]
    findings = [vuln(f"CVE-{i}", "HIGH") for i in range(1, 5)]
    result = judge(None, *findings, fail_on=Severity.HIGH, vex=statements)
    assert set(blocked(result)) == {"CVE-2", "CVE-3", "CVE-4"}  # triage; other version; none
    cve1 = result.to_dict()["findings"][0]
    assert cve1["id"] == "CVE-1" and cve1["suppressed"]["justification"] == "code_not_reachable"
    assert cve1["suppressed"]["reason"] == "code_not_reachable: only the CLI uses it"


@pytest.mark.parametrize(("content", "message"), [
    ("[]", "expected a JSON object"),
    ('{"statements": []}', "neither OpenVEX"),
    ('{"@context": "https://openvex.dev/ns", "statements": [{"status": "fixed"}]}',
     r"statements\[0\].vulnerability: expected a name"),
    ("{nope", "is not valid JSON"),
])
def test_a_bad_vex_document_is_one_clear_error(tmp_path: Path, content: str,
                                               message: str) -> None:
    path = tmp_path / "vex.json"
    path.write_text(content)
    with pytest.raises(PolicyError, match=message):
        read_vex(path)


@pytest.mark.parametrize(("first", "second", "reason"), [
    ('"CVE-*"', "CVE-1", "first"), ("CVE-1", '"CVE-*"', "first"),
    ("CVE-9", "CVE-1", "second"),
])
def test_the_first_matching_suppression_in_the_file_wins(first: str, second: str,
                                                         reason: str) -> None:
    text = (f"version: 1\nsuppressions:\n  - id: {first}\n    reason: first\n"
            f"  - id: {second}\n    reason: second\n")
    result = judge(text, vuln("CVE-1", "HIGH"))
    assert result.to_dict()["findings"][0]["suppressed"]["reason"] == reason


def test_a_vex_statement_under_an_alias_is_ordered_with_the_others(tmp_path: Path) -> None:
    """The finding's GHSA alias is said not_affected, then its CVE id affected: the later
    statement wins although the ids differ."""
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
        {"vulnerability": {"name": "GHSA-x"}, "products": [{"@id": "pkg:npm/lodash"}],
         "status": "not_affected", "justification": "component_not_present"},
        {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/lodash"}],
         "status": "affected"}]}
    statements = tuple(read_vex(_vex(tmp_path, doc)))
    finding = vuln("CVE-1", "HIGH", aliases=("GHSA-x",))
    assert not judge(None, finding, fail_on=Severity.HIGH, vex=statements).verdict.passed
    assert judge(None, finding, fail_on=Severity.HIGH, vex=statements[:1]).verdict.passed
