"""A console project's central rules applied to a finished scan's verdict: ``allow`` (a finding
id or alias that never blocks), ``block`` (one that always blocks, whatever its severity) and
``image-allow`` (an image whose scans never block). The CLI fetches them with ``--upload`` and
``--token`` so every pipeline of the project gets the same rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from portcullis.model.finding import Finding, Severity
from portcullis.model.report import Report, Verdict, Violation

SCHEMES = ("registry:", "docker-daemon:", "docker-archive:", "oci-archive:", "oci:", "dir:")


@dataclass(frozen=True, slots=True)
class Rule:
    rule: str
    value: str
    expires_at: datetime | None = None


def parse_rules(items: list[dict[str, Any]]) -> list[Rule]:
    out = []
    for item in items:
        expires = item.get("expires_at")
        stamp = datetime.fromisoformat(str(expires).replace("Z", "+00:00")) if expires else None
        out.append(Rule(str(item["rule"]), str(item["value"]), stamp))
    return out


def image_matches(reference: str, name: str) -> bool:
    """``registry:host/app:1.0`` matches ``host/app`` and ``host/app:1.0``; an archive or
    directory reference matches its path."""
    for scheme in SCHEMES:
        reference = reference.removeprefix(scheme)
    return reference == name or reference.startswith((f"{name}:", f"{name}@"))


def _ids(finding: Finding) -> set[str]:
    return {finding.id, *(str(a) for a in finding.extra.get("aliases") or ())}


def apply(report: Report, rules: list[Rule], fail_on: Severity | None,
          now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    live = [r for r in rules if r.expires_at is None or r.expires_at > now]
    if not live:
        return report
    policy = f"{report.verdict.policy} + {len(live)} console rule(s)"
    allowed_image = next((r.value for r in live if r.rule == "image-allow"
                          and image_matches(report.image.reference, r.value)), None)
    if allowed_image is not None:
        return replace(report, verdict=Verdict(
            passed=True, policy=f"{policy}: image {allowed_image} allowed"))
    allow = {r.value for r in live if r.rule == "allow"}
    block = {r.value for r in live if r.rule == "block"}
    violations = []
    for f in sorted(report.findings, key=Finding.sort_key):
        ids = _ids(f)
        if ids & allow:
            continue
        if ids & block:
            violations.append(Violation(fingerprint=f.fingerprint,
                                        reason=f"{f.kind} {f.id} is on the project's block list"))
        elif fail_on is not None and f.severity >= fail_on:
            violations.append(Violation(
                fingerprint=f.fingerprint,
                reason=f"{f.severity.name} {f.kind} {f.id} is at or above {fail_on.name}"))
    return replace(report, verdict=Verdict(passed=not violations, policy=policy,
                                           violations=tuple(violations)))
