"""The check framework: what a check is, where it fired, and the findings it makes.

A check has a stable ``id``, a title, a severity, a rationale, a remediation and the named
baseline it belongs to. Its function looks at a :class:`Subject` and returns the places it
failed (``Hit``), an empty list when it passed, or None when what it looks at is not in the
image (not applicable).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from portcullis.analyze.baseline.history import Step
from portcullis.model.baseline import FAILED, NOT_APPLICABLE, PASSED, BaselineResult, CheckResult
from portcullis.model.finding import Finding, Severity

# The named baselines, in the order the report lists them.
CIS_DOCKER = "CIS Docker 4"
ACCOUNTS = "Linux accounts"
PASSWORD_POLICY = "Password policy"
SSH = "SSH"
PRIVILEGES = "Privileges"
BASELINES = (CIS_DOCKER, ACCOUNTS, PASSWORD_POLICY, SSH, PRIVILEGES)


class Check(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    severity: Severity
    baseline: str
    rationale: str
    remediation: str
    reference: str | None = None  # e.g. "CIS Docker Benchmark 4.1"


class Hit(msgspec.Struct, frozen=True, kw_only=True):
    """One place a check failed: a file line or a history line (or the config itself)."""

    detail: str | None = None  # appended to the title; never a secret's value
    path: str | None = None
    line: int | None = None
    layer: int | None = None
    step: Step | None = None  # the history line (Dockerfile instruction) that caused it
    inherited: bool | None = None  # set for file hits; a step knows its own
    account: str | None = None
    severity: Severity | None = None  # when one hit is worse than the check's default
    redact: tuple[str, ...] = ()  # names whose values the reported instruction must not show
    visible: bool = True  # False: a version a later layer deleted or overwrote (it still ships)


Run = Callable[[Any], "list[Hit] | None"]


class Rule(msgspec.Struct, frozen=True):
    check: Check
    run: Run


class Outcome(msgspec.Struct):
    check: Check
    hits: list[Hit] | None  # None: not applicable

    @property
    def status(self) -> str:
        if self.hits is None:
            return NOT_APPLICABLE
        return FAILED if self.hits else PASSED


class Registry(msgspec.Struct):
    """The rules of one module, registered with ``@rules.add(Check(...))``."""

    rules: list[Rule] = msgspec.field(default_factory=list)

    def add(self, check: Check) -> Callable[[Run], Run]:
        def register(fn: Run) -> Run:
            self.rules.append(Rule(check, fn))
            return fn
        return register


def finding(check: Check, hit: Hit) -> Finding:
    title = f"{check.title}: {hit.detail}" if hit.detail else check.title
    step = hit.step
    inherited = hit.inherited if hit.inherited is not None else (step.inherited if step else None)
    layer = hit.layer if hit.layer is not None else (step.layer if step else None)
    extra: dict[str, Any] = {
        "baseline": check.baseline,
        "rationale": check.rationale,
        "remediation": check.remediation,
        "reference": check.reference,
        "instruction": redact(step.created_by, hit.redact) if step else None,
        "history_index": step.index if step else None,
        "inherited": inherited,
    }
    if hit.account is not None:
        extra["account"] = hit.account
    return Finding(kind="baseline", id=check.id, severity=hit.severity or check.severity,
                   title=title, path=hit.path, line=hit.line, layer=layer, visible=hit.visible,
                   extra=extra)


def redact(line: str, names: tuple[str, ...]) -> str:
    """``ENV TOKEN=abc`` → ``ENV TOKEN=***``; ``ENV TOKEN abc`` (old form) → ``ENV TOKEN ***``."""
    for name in names:
        line = re.sub(rf"(\b{re.escape(name)}=)(\"[^\"]*\"|'[^']*'|\S+)", r"\1***", line)
        line = re.sub(rf"^((?:/bin/sh -c #\(nop\)\s*)?(?:ENV|ARG)\s+{re.escape(name)}\s+)(?!=).+$",
                      r"\1***", line)
    return line


def summarize(outcomes: list[Outcome]) -> list[BaselineResult]:
    by_name: dict[str, list[CheckResult]] = {name: [] for name in BASELINES}
    for outcome in outcomes:
        check = outcome.check
        by_name.setdefault(check.baseline, []).append(CheckResult(
            id=check.id, title=check.title, severity=check.severity, status=outcome.status,
            findings=len(outcome.hits or ()), reference=check.reference))
    return [BaselineResult(name=name, checks=tuple(checks))
            for name, checks in by_name.items() if checks]
