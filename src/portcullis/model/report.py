"""The scan report (CONTRACT.md §5). Writers see only this."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from portcullis.model.baseline import BaselineResult
from portcullis.model.distro import Distro
from portcullis.model.finding import Finding, Severity, Warning
from portcullis.model.image import ImageInfo
from portcullis.model.package import Package

SCHEMA_VERSION = 1


class LayerTotals(msgspec.Struct, frozen=True, kw_only=True):
    """What one layer wrote that is still visible, and what it removed of lower layers."""

    layer: int
    files: int = 0
    bytes: int = 0
    removed_files: int = 0
    removed_bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"layer": self.layer, "files": self.files, "bytes": self.bytes,
                "removed_files": self.removed_files, "removed_bytes": self.removed_bytes}


class BaseImageInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The ``base_image`` object of the report: which image this one was built on."""

    name: str | None
    version: str | None
    os_name: str | None
    os_version: str | None
    last_layer: int | None
    layer_digest: str | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "os_name": self.os_name,
                "os_version": self.os_version, "last_layer": self.last_layer,
                "layer_digest": self.layer_digest, "method": self.method}


class FileStats(msgspec.Struct, frozen=True, kw_only=True):
    count: int = 0
    total_size: int = 0
    largest: tuple[tuple[str, int, int], ...] = ()  # (path, size, layer)
    per_layer: tuple[LayerTotals, ...] = ()
    wasted_bytes: int = 0  # bytes of versions deleted or overwritten by a later layer

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total_size": self.total_size,
            "largest": [{"path": p, "size": s, "layer": layer} for p, s, layer in self.largest],
            "per_layer": [item.to_dict() for item in self.per_layer],
            "wasted_bytes": self.wasted_bytes,
        }


class ScannerResult(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    message: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "seconds": round(self.seconds, 3)}


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    fingerprint: str
    reason: str
    rule: str = "fail-on"  # which rule fired: "--fail-on HIGH", "rules.vulnerability[0] (p.yaml:7)"


class Suppression(msgspec.Struct, frozen=True, kw_only=True):
    """Why a finding does not count: a policy suppression, the allowlist or a VEX statement."""

    by: str  # "suppression" | "allowlist" | "vex"
    reason: str
    source: str  # where it was said: "policy.yaml:12", "vex.json"
    expires: str | None = None  # ISO date
    justification: str | None = None  # VEX justification, as written

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "reason": self.reason, "source": self.source,
                "expires": self.expires, "justification": self.justification}


class Mark(msgspec.Struct, frozen=True, kw_only=True):
    """What the gate decided about one finding (keyed by fingerprint in ``Report.marks``)."""

    suppressed: Suppression | None = None
    new: bool | None = None  # None: no --baseline to compare with


class ExpiredSuppression(msgspec.Struct, frozen=True, kw_only=True):
    source: str
    expires: str
    reason: str
    matches: str  # what it named: "id CVE-2023-1234, package openssl"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "expires": self.expires, "reason": self.reason,
                "matches": self.matches}


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    passed: bool
    policy: str
    violations: tuple[Violation, ...] = ()
    blocking: bool = True  # False: report only, a failed verdict still exits 0
    suppressed: int = 0
    expired_suppressions: tuple[ExpiredSuppression, ...] = ()
    baseline: dict[str, Any] | None = None  # {"path", "known", "new"} with --baseline
    image_allowed: str | None = None  # the image allowlist entry that let the image pass

    @property
    def exit_blocks(self) -> bool:
        """Whether this verdict stops the pipeline (exit 1)."""
        return self.blocking and not self.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "blocking": self.blocking,
            "policy": self.policy,
            "violations": [{"fingerprint": v.fingerprint, "reason": v.reason, "rule": v.rule}
                           for v in self.violations],
            "suppressed": self.suppressed,
            "expired_suppressions": [e.to_dict() for e in self.expired_suppressions],
            "baseline": self.baseline,
            "image_allowed": self.image_allowed,
        }


class Report(msgspec.Struct, frozen=True, kw_only=True):
    tool_version: str
    created_at: datetime
    image: ImageInfo
    distro: Distro | None
    packages: tuple[Package, ...] = ()
    findings: tuple[Finding, ...] = ()
    warnings: tuple[Warning, ...] = ()
    files: FileStats = msgspec.field(default_factory=FileStats)
    scanners: dict[str, ScannerResult] = msgspec.field(default_factory=dict)
    base_image: BaseImageInfo | None = None
    baselines: tuple[BaselineResult, ...] = ()
    db: dict[str, Any] | None = None
    verdict: Verdict = msgspec.field(default_factory=lambda: Verdict(passed=True, policy="default"))
    marks: dict[str, Mark] = msgspec.field(default_factory=dict)  # fingerprint → the gate's marks

    def by_severity(self) -> dict[str, int]:
        counts = {s.name: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            counts[f.severity.name] += 1
        return counts

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return dict(sorted(counts.items()))

    def risk_level(self) -> str | None:
        """The highest severity among the findings that count (suppressed ones do not)."""
        counted = [f.severity for f in self.findings if not self.is_suppressed(f)]
        return max(counted).name if counted else None

    def is_suppressed(self, finding: Finding) -> bool:
        mark = self.marks.get(finding.fingerprint)
        return mark is not None and mark.suppressed is not None

    def from_base_image(self, layer: int | None) -> bool | None:
        """True when ``layer`` came with the base image; None when that is unknown."""
        last = self.base_image.last_layer if self.base_image else None
        if not isinstance(last, int) or layer is None:
            return None
        return layer <= last

    def finding_dict(self, finding: Finding) -> dict[str, Any]:
        """A finding as the JSON report writes it: its fields, where it came from, and the
        gate's marks (null when the gate did not say)."""
        doc = self._from_base(finding.to_dict(), finding.layer)
        mark = self.marks.get(doc["fingerprint"], Mark())  # a hash: computed once
        doc["suppressed"] = mark.suppressed.to_dict() if mark.suppressed else None
        doc["new"] = mark.new
        return doc

    def artifact(self) -> dict[str, Any]:
        info = self.image
        return {
            "reference": info.reference,
            "source": info.source,
            "manifest_digest": info.manifest_digest,
            "config_digest": info.config_digest,
            "platform": info.platform.to_dict(),
            "os": self.distro.to_dict() if self.distro else None,
            "size": info.size,
            "repo_tags": list(info.repo_tags),
            "layers": [layer.to_dict() for layer in info.layers],
            "config": info.config.to_dict(),
        }

    def _from_base(self, doc: dict[str, Any], layer: int | None) -> dict[str, Any]:
        """Mark what came with the base image; null when that is unknown (the contract wants
        unknown values null, not missing)."""
        doc["from_base_image"] = self.from_base_image(layer)
        return doc

    def to_dict(self) -> dict[str, Any]:
        created = self.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "portcullis", "version": self.tool_version},
            "created_at": created,
            "artifact": self.artifact(),
            "base_image": self.base_image.to_dict() if self.base_image else None,
            "packages": [self._from_base(p.to_dict(), p.introduced_in)
                         for p in sorted(self.packages, key=Package.sort_key)],
            "files": self.files.to_dict(),
            "findings": [self.finding_dict(f)
                         for f in sorted(self.findings, key=Finding.sort_key)],
            "scanners": {k: v.to_dict() for k, v in sorted(self.scanners.items())},
            "baselines": [b.to_dict() for b in self.baselines],
            "summary": {
                "by_kind": self.by_kind(),
                "by_severity": self.by_severity(),
                "risk_level": self.risk_level(),
            },
            "db": self.db,
            "verdict": self.verdict.to_dict(),
            "warnings": [w.to_dict() for w in sorted(
                self.warnings, key=lambda w: (w.layer if w.layer is not None else -1,
                                              w.path or "", w.analyzer or "", w.message))],
        }
