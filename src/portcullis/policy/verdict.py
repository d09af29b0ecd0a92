"""The verdict: the gate applied to a finished report.

Order of decisions for each finding (the first that applies wins):

1. ``deny.vulnerabilities`` lists its id (or an alias): it blocks, whatever else is said.
2. Suppressed (the allowlist, a live suppression, a VEX statement of not affected): kept in
   the report, marked ``suppressed`` with the reason, never blocks.
3. Known (``--baseline`` lists its fingerprint): marked ``new: false``, never blocks.
4. The rules (``--fail-on`` is one more rule over every kind): the first rule that matches
   blocks it. What came from the base image is judged by the policy's ``base_image`` choice.

An image on ``allow.images`` passes whatever its findings. The verdict fails when anything
blocks; it stops the pipeline (exit 1) only when the policy is blocking.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from portcullis.model.finding import Finding, Severity, Warning
from portcullis.model.report import (
    ExpiredSuppression,
    Mark,
    Report,
    Suppression,
    Verdict,
    Violation,
)
from portcullis.policy.rules import ANY_KIND, Rule, any_glob, finding_ids
from portcullis.policy.suppressions import SuppressionRule

if TYPE_CHECKING:  # a scan without --policy, --vex or --baseline does not import their readers
    from portcullis.policy.baseline import Baseline
    from portcullis.policy.load import Listed, Policy
    from portcullis.policy.vex import VexStatement


class Gate(msgspec.Struct, frozen=True, kw_only=True):
    policy: Policy | None = None
    fail_on: Severity | None = None
    vex: tuple[VexStatement, ...] = ()
    baseline: Baseline | None = None
    blocking: bool | None = None  # overrides the policy's switch (--blocking/--no-blocking)

    def label(self) -> str:
        """``verdict.policy``: "fail-on HIGH", "policy prod", "policy prod + fail-on HIGH"."""
        fail_on = f"fail-on {self.fail_on.name if self.fail_on else 'none'}"
        if self.policy is None:
            return fail_on
        name = f"policy {self.policy.name}"
        return f"{name} + {fail_on}" if self.fail_on else name

    def rules_for(self, from_base_image: bool | None) -> tuple[Rule, ...]:
        """The rules that judge a finding: the policy's (or its base-image rules, or none, for
        what came with the base image), then the ``--fail-on`` shortcut over every kind."""
        rules: tuple[Rule, ...] = self.policy.rules if self.policy else ()
        if from_base_image is True and self.policy is not None:
            if self.policy.base_image == "ignore":
                return ()
            if self.policy.base_image == "separate":
                rules = self.policy.base_rules
        if self.fail_on is not None:
            rules = (*rules, Rule(kind=ANY_KIND, name=f"--fail-on {self.fail_on.name}",
                                  severity=self.fail_on))
        return rules


def apply_gate(report: Report, gate: Gate, today: date) -> Report:
    policy = gate.policy
    images = _image_names(report)
    live = _SuppressionIndex([s for s in (policy.suppressions if policy else ())
                              if not s.expired(today)])
    expired = [s for s in (policy.suppressions if policy else ()) if s.expired(today)]
    # VEX statements by vulnerability id, each with its position in the order given.
    vex: dict[str, list[tuple[int, VexStatement]]] = {}
    for position, statement in enumerate(gate.vex):
        vex.setdefault(statement.vulnerability, []).append((position, statement))
    marks: dict[str, Mark] = {}
    violations: list[Violation] = []
    for finding in sorted(report.findings, key=Finding.sort_key):
        doc = report.finding_dict(finding)
        fingerprint = doc["fingerprint"]  # a hash: computed once per finding
        new = None if gate.baseline is None else fingerprint not in gate.baseline.fingerprints
        denied = _listed(policy.deny_vulnerabilities if policy else (), doc)
        suppressed = None if denied else _suppression(doc, policy, live, vex, images)
        marks[fingerprint] = Mark(suppressed=suppressed, new=new)
        if denied is not None:
            violations.append(Violation(
                fingerprint=fingerprint,
                reason=f"{doc['kind']} {doc['id']} is on the deny list",
                rule=f"deny.vulnerabilities ({denied.source})"))
            continue
        if suppressed is not None or new is False:
            continue
        rule = _first_rule(doc, gate)
        if rule is not None:
            violations.append(Violation(fingerprint=fingerprint, reason=rule.explain(doc),
                                        rule=rule.name))
    allowed = _allowed_image(policy, images)
    if allowed is not None:
        violations = []
    blocking = gate.blocking if gate.blocking is not None else (
        policy.blocking if policy else True)
    verdict = Verdict(
        passed=not violations,
        policy=gate.label(),
        violations=tuple(violations),
        blocking=blocking,
        suppressed=sum(1 for m in marks.values() if m.suppressed is not None),
        expired_suppressions=tuple(ExpiredSuppression(
            source=s.source, expires=s.expires.isoformat() if s.expires else "",
            reason=s.reason, matches=s.describe()) for s in expired),
        baseline=_baseline_counts(gate.baseline, marks),
        image_allowed=f"{allowed.pattern} ({allowed.source})" if allowed else None,
    )
    warnings = [*report.warnings, *(Warning(
        analyzer="policy",
        message=f"suppression at {s.source} ({s.describe()}) expired on "
                f"{s.expires.isoformat() if s.expires else '?'}: it no longer suppresses")
        for s in expired)]
    return replace(report, verdict=verdict, marks=marks, warnings=tuple(warnings))


def _first_rule(doc: dict[str, Any], gate: Gate) -> Rule | None:
    rules = gate.rules_for(doc.get("from_base_image"))
    return next((r for r in rules if r.matches(doc)), None)


class _SuppressionIndex:
    """Suppressions by literal id, so that hundreds of them over tens of thousands of
    findings cost a lookup each, not a glob match each; the others (globs, no id) are tried
    in turn. The first in file order that matches wins, as without the index."""

    def __init__(self, rules: list[SuppressionRule]) -> None:
        self.by_id: dict[str, list[int]] = {}
        self.scan: list[int] = []
        self.rules = rules
        for i, rule in enumerate(rules):
            if rule.ids and not any(_is_glob(p) for p in rule.ids):
                for ident in rule.ids:
                    self.by_id.setdefault(ident, []).append(i)
            else:
                self.scan.append(i)

    def candidates(self, doc: dict[str, Any]) -> list[SuppressionRule]:
        found = set(self.scan)
        for ident in finding_ids(doc):
            found.update(self.by_id.get(ident, ()))
        return [self.rules[i] for i in sorted(found)]


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _suppression(doc: dict[str, Any], policy: Policy | None, live: _SuppressionIndex,
                 vex: dict[str, list[tuple[int, VexStatement]]],
                 images: list[str]) -> Suppression | None:
    if policy is not None and doc.get("kind") == "vulnerability":
        allowed = _listed(policy.allow_vulnerabilities, doc)
        if allowed is not None:
            return Suppression(by="allowlist", reason=allowed.reason or "on the allowlist",
                               source=allowed.source)
    for rule in live.candidates(doc):
        if rule.matches(doc, images):
            return Suppression(by="suppression", reason=rule.reason, source=rule.source,
                               expires=rule.expires.isoformat() if rule.expires else None)
    # Later statements win: a document that says "affected" after "not_affected" revokes it.
    stated = sorted((pair for ident in finding_ids(doc) for pair in vex.get(ident, ())),
                    key=lambda pair: pair[0], reverse=True)
    for _position, statement in stated:
        if statement.applies_to(doc):
            if not statement.resolved:
                return None
            return Suppression(by="vex", reason=statement.reason(), source=statement.source,
                               justification=statement.justification)
    return None


def _listed(entries: tuple[Listed, ...], doc: dict[str, Any]) -> Listed | None:
    if doc.get("kind") != "vulnerability":
        return None
    ids = finding_ids(doc)
    return next((e for e in entries if any_glob((e.pattern,), ids)), None)


def _allowed_image(policy: Policy | None, images: list[str]) -> Listed | None:
    if policy is None:
        return None
    return next((e for e in policy.allow_images if any_glob((e.pattern,), images)), None)


def _image_names(report: Report) -> list[str]:
    """What an image glob is matched against: the reference as given, its tags, digests."""
    info = report.image
    names = [info.reference, *info.repo_tags]
    names += [d for d in (info.manifest_digest, info.config_digest) if d]
    return names


def _baseline_counts(baseline: Baseline | None, marks: dict[str, Mark]) -> dict[str, Any] | None:
    if baseline is None:
        return None
    new = sum(1 for m in marks.values() if m.new)
    return {"path": baseline.path, "known": len(marks) - new, "new": new}
