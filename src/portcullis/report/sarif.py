"""``--format sarif``: SARIF 2.1.0, as code-scanning dashboards (GitHub, GitLab, Jenkins'
warnings-ng) read it.

One run; one rule per distinct finding id (its title, kind and a ``security-severity`` score
for GitHub); one result per finding. Image paths are locations relative to the image root
(``uriBaseId`` ``IMAGE_ROOT``), the layer and the package are result properties, the
fingerprint is a partial fingerprint (stable across rescans, so dashboards track a finding),
and suppressed findings carry a SARIF suppression with the reason.
"""

from __future__ import annotations

import json
from typing import Any, TextIO
from urllib.parse import quote

from portcullis.model.finding import Finding
from portcullis.model.report import Report
from portcullis.report.base import WriterSpec

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT = "IMAGE_ROOT"
# SARIF levels and GitHub's security-severity scores (its bands: >=9 critical, >=7 high,
# >=4 medium, >0 low) for findings without a CVSS score.
LEVELS = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "note",
          "UNKNOWN": "note"}
SCORES = {"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0", "UNKNOWN": "0.0"}


def write_sarif(report: Report, out: TextIO, colour: bool = False) -> None:
    json.dump(sarif_document(report), out, indent=2, ensure_ascii=False)
    out.write("\n")


def sarif_document(report: Report) -> dict[str, Any]:
    blocking = {v.fingerprint: v for v in report.verdict.violations}
    findings = [report.finding_dict(f) for f in sorted(report.findings, key=Finding.sort_key)]
    rules: dict[str, dict[str, Any]] = {}
    for f in findings:
        rules.setdefault(f["id"], _rule(f))
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    info = report.image
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "Portcullis",
                "semanticVersion": report.tool_version,
                "rules": list(rules.values()),
            }},
            "originalUriBaseIds": {ROOT: {
                "uri": "file:///",
                "description": {"text": f"the root filesystem of {info.reference}"},
            }},
            "results": [_result(f, index[f["id"]], blocking, info.reference)
                        for f in findings],
            "invocations": [{
                "executionSuccessful": all(s.status != "failed"
                                           for s in report.scanners.values()),
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": w.message}}
                    for w in report.warnings],
            }],
            "properties": {
                "image": info.reference,
                "manifest_digest": info.manifest_digest,
                "config_digest": info.config_digest,
                "verdict": report.verdict.to_dict(),
            },
        }],
    }


def _rule(f: dict[str, Any]) -> dict[str, Any]:
    cvss = f.get("cvss")
    score = cvss.get("score") if isinstance(cvss, dict) else None
    rule: dict[str, Any] = {
        "id": f["id"],
        "name": f["kind"].title().replace("-", ""),
        "shortDescription": {"text": f["title"] or f["id"]},
        "defaultConfiguration": {"level": LEVELS.get(f["severity"], "note")},
        "properties": {
            "tags": ["security", f["kind"]],
            "security-severity": f"{score:.1f}" if isinstance(score, int | float)
            else SCORES.get(f["severity"], "0.0"),
        },
    }
    if f["kind"] == "vulnerability":
        rule["helpUri"] = f"https://osv.dev/vulnerability/{quote(f['id'])}"
    return rule


def _result(f: dict[str, Any], rule_index: int, blocking: dict[str, Any],
            reference: str) -> dict[str, Any]:
    violation = blocking.get(f["fingerprint"])
    text = f["title"] or f["id"]
    if f.get("package_name"):
        fixed = ", ".join(f.get("fixed_versions") or []) or "no fix yet"
        text = (f"{f['id']}: {f['package_name']} {f.get('installed_version') or ''} "
                f"({f['severity']}; fixed in {fixed}): {f['title']}")
    if violation is not None:
        text += f" [blocking: {violation.rule}]"
    result: dict[str, Any] = {
        "ruleId": f["id"],
        "ruleIndex": rule_index,
        "level": LEVELS.get(f["severity"], "note"),
        "message": {"text": text},
        "partialFingerprints": {"portcullisFingerprint/v1": f["fingerprint"]},
        "properties": {key: f.get(key) for key in (
            "kind", "severity", "layer", "visible", "from_base_image", "new", "package",
            "installed_version", "fixed_versions") if key in f},
    }
    result["properties"]["blocking"] = violation is not None
    if f.get("path"):
        location: dict[str, Any] = {"artifactLocation": {
            "uri": quote(f["path"].lstrip("/"), safe="/",
                         errors="surrogateescape"), "uriBaseId": ROOT}}
        if f.get("line"):
            location["region"] = {"startLine": f["line"]}
    else:
        # No file (an image setting, say): the image itself, since dashboards such as
        # GitHub's refuse a result without a location.
        location = {"artifactLocation": {"uri": quote(reference, safe="/:@",
                                                      errors="surrogateescape")}}
    result["locations"] = [{"physicalLocation": location}]
    suppressed = f.get("suppressed")
    if suppressed:
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": f"{suppressed['by']} ({suppressed['source']}): "
                             f"{suppressed['reason']}",
        }]
    return result


WRITER = WriterSpec(name="sarif", description="SARIF 2.1.0 (code-scanning dashboards)",
                    write=write_sarif, extension="sarif")
