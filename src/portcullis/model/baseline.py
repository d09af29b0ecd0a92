"""Baseline results: each named baseline with its checks and their pass/fail state."""

from __future__ import annotations

from typing import Any

import msgspec

from portcullis.model.finding import Severity

PASSED = "passed"
FAILED = "failed"
NOT_APPLICABLE = "not-applicable"  # what the check looks at is not in the image


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    severity: Severity
    status: str  # PASSED, FAILED or NOT_APPLICABLE
    findings: int = 0
    reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity.name,
                "status": self.status, "findings": self.findings, "reference": self.reference}


class BaselineResult(msgspec.Struct, frozen=True, kw_only=True):
    """One named baseline ("CIS Docker 4", "SSH", ...) as HSS reports it."""

    name: str
    checks: tuple[CheckResult, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.count(PASSED), "failed": self.count(FAILED),
                "not_applicable": self.count(NOT_APPLICABLE),
                "checks": [c.to_dict() for c in self.checks]}
