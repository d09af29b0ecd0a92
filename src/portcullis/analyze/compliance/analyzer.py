"""The "compliance" scanner: license policy, banned software and end of life, as findings of
kind ``compliance``, each at the layer (and Dockerfile instruction) that brought it."""

from __future__ import annotations

from typing import Any, ClassVar

from msgspec.structs import replace

from portcullis.analyze.base import STAGE_CHECKS, AnalysisContext, AnalysisResult, AnalyzerSpec
from portcullis.analyze.compliance import banned, eol
from portcullis.analyze.compliance.licenses import Categorizer
from portcullis.errors import ConfigError
from portcullis.layers.view import Filesystem
from portcullis.model.compliance import ComplianceSettings, Constraint
from portcullis.model.eol import EolTable
from portcullis.model.finding import Finding, Severity, Warning
from portcullis.model.package import Package

NAME = "compliance"

# Shipped banned categories → severity. A miner in an image is what cryptojacking leaves.
BANNED_SEVERITY = {
    "miner": Severity.CRITICAL,
    "attack": Severity.HIGH,
    "scanner": Severity.HIGH,
    "remote-access": Severity.MEDIUM,
    "sniffer": Severity.MEDIUM,
    "debugger": Severity.LOW,
    "compiler": Severity.LOW,
}
OS_EOL_SEVERITY = Severity.HIGH
RUNTIME_EOL_SEVERITY = Severity.MEDIUM
# A runtime the distribution packaged, on a release it still supports: the distribution's
# security team may backport fixes past upstream's end (Debian's nodejs 18 in bookworm).
DISTRO_RUNTIME_SEVERITY = Severity.LOW
REDUCED_SUPPORT_SEVERITY = Severity.LOW


class Compliance:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name=NAME, version=1, scanners=frozenset({"compliance"}), stage=STAGE_CHECKS)

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        settings = ctx.compliance or ComplianceSettings()
        result = AnalysisResult()
        where = _Where(ctx)
        packages = [p for p in ctx.packages if not p.declared]
        result.findings.extend(_licenses(packages, settings, where))
        result.findings.extend(_banned(packages, fs, settings, where, result.warnings))
        try:
            table = eol.load_table(settings.eol_file)
        except ConfigError as e:  # a damaged refreshed file: said, and the shipped dates used
            result.warnings.append(Warning(
                message=f"{e}; the end-of-life dates shipped with portcullis were used",
                path=None, analyzer=NAME))
            table = eol.load_table(None)
        result.findings.extend(_end_of_life(packages, fs, ctx, table, settings, where, result))
        return result


class _Where:
    """The Dockerfile instruction of a layer (whether the base image brought it, the report
    says for every finding: ``from_base_image``)."""

    def __init__(self, ctx: AnalysisContext) -> None:
        self._layers = ctx.image.layers

    def extra(self, layer: int | None) -> dict[str, Any]:
        if layer is None or not 0 <= layer < len(self._layers):
            return {}
        return {"instruction": self._layers[layer].created_by or None}


def _path(package: Package) -> str | None:
    return package.locations[0].path if package.locations else None


def _line(package: Package) -> int | None:
    """The package's line in its database: it tells apart two stanzas of one name (dpkg's
    libc6:amd64 and libc6:i386), which would otherwise share a fingerprint."""
    return package.locations[0].line if package.locations else None


def _package_extra(package: Package) -> dict[str, Any]:
    return {"package": package.name, "version": package.version, "package_type": package.type,
            "purl": package.purl}


def _licenses(packages: list[Package], settings: ComplianceSettings,
              where: _Where) -> list[Finding]:
    """One finding per package whose category the policy reports (forbidden by default), and
    one listing the license names that could not be placed (unless it already has one)."""
    policy = settings.policy
    categorizer = Categorizer(policy.licenses)
    overrides = {k.casefold(): v for k, v in policy.packages.items()}
    out: list[Finding] = []
    for package in packages:
        override = overrides.get(package.name.casefold())
        if override is None and not package.licenses:
            continue  # nothing declared, nothing to judge
        if override is not None:
            category, unknown = override, frozenset[str]()
        else:
            judged = categorizer.of_licenses(package.licenses)
            category, unknown = judged.category, judged.unknown
        severity = policy.severities.get(category)
        if severity is not None and category != "unknown":
            why = ("set for this package by the policy" if override
                   else " AND ".join(package.licenses))
            out.append(_license_finding(package, category, severity,
                                        f"{category} license: {package.name} ({why})", [],
                                        where))
        elif unknown and policy.severities.get("unknown") is not None:
            names = sorted(unknown)
            out.append(_license_finding(
                package, "unknown", policy.severities["unknown"] or Severity.LOW,
                f"license not in the policy: {package.name} ({', '.join(names)})", names,
                where))
    return out


def _license_finding(package: Package, category: str, severity: Severity, what: str,
                     unknown: list[str], where: _Where) -> Finding:
    return Finding(
        kind="compliance", id=f"license-{category}", severity=severity,
        title=what,
        path=_path(package), line=_line(package), layer=package.introduced_in,
        extra={**_package_extra(package), "check": "license", "category": category,
               "licenses": list(package.licenses), "unknown_licenses": unknown,
               **where.extra(package.introduced_in)})


def _banned(packages: list[Package], fs: Filesystem, settings: ComplianceSettings,
            where: _Where, warnings: list[Warning]) -> list[Finding]:
    items = banned.active(settings.policy)
    by_package = banned.by_package_name(items)
    rules = banned.rules_by_name(settings.policy.banned)
    out: list[Finding] = []
    unchecked: set[str] = set()
    for package in packages:
        key = package.name.casefold()
        # The policy's own rule wins over the shipped list; one finding per package.
        rule = next((r for r in rules.get(key, ())
                     if _in_range(package, r.versions, settings, unchecked)), None)
        item = by_package.get(key)
        if rule is not None:
            out.append(_banned_finding(package, "policy", rule.reason, rule.severity,
                                       rule.versions_text, where))
        elif item is not None:
            out.append(_banned_finding(package, item.category, item.reason,
                                       BANNED_SEVERITY[item.category], None, where))
    for name in sorted(unchecked):
        warnings.append(Warning(
            message=f"banned-software rule for {name}: the installed version could not be "
                    "ordered against the rule's range, so the rule was applied (banned)",
            analyzer=NAME))
    out.extend(_banned_binaries(packages, fs, items, where))
    return out


def _in_range(package: Package, constraints: tuple[Constraint, ...], settings: ComplianceSettings,
              unchecked: set[str]) -> bool:
    """Whether the package's version is in the rule's range. A version that cannot be
    ordered is treated as banned, and said: a policy must not pass silently."""
    if not constraints:
        return True
    order = settings.version_order
    if order is None:
        unchecked.add(package.name)
        return True
    for constraint in constraints:
        try:
            sign = order(package.type, package.version, constraint.version)
        except ValueError:
            unchecked.add(package.name)
            return True
        if not constraint.holds(sign):
            return False
    return True


def _banned_finding(package: Package, category: str, reason: str, severity: Severity,
                    versions: str | None, where: _Where) -> Finding:
    return Finding(
        kind="compliance", id="banned-software", severity=severity,
        title=f"banned {category}: {package.name} {package.version}"
              + (f" ({reason})" if category == "policy" else ""),
        path=_path(package), line=_line(package), layer=package.introduced_in,
        extra={**_package_extra(package), "check": "banned-software", "category": category,
               "reason": reason, "versions": versions, **where.extra(package.introduced_in)})


def _banned_binaries(packages: list[Package], fs: Filesystem, items: list[banned.BannedSoftware],
                     where: _Where) -> list[Finding]:
    has_os_db = any(p.type in eol.OS_TYPES for p in packages)
    dirs = banned.LOCAL_BIN_DIRS + (() if has_os_db else banned.SYSTEM_BIN_DIRS)
    out: list[Finding] = []
    for item in items:
        for binary in sorted(item.binaries):
            for directory in dirs:
                entry = fs.entry(f"{directory}/{binary}")
                if entry is None or not entry.meta.is_file:
                    continue
                out.append(Finding(
                    kind="compliance", id="banned-software",
                    severity=BANNED_SEVERITY[item.category],
                    title=f"banned {item.category}: {item.name} (no package installed it)",
                    path=entry.path, layer=entry.layer,
                    extra={"package": item.name, "check": "banned-software",
                           "category": item.category, "reason": item.reason,
                           "versions": None, **where.extra(entry.layer)}))
    return out


def _end_of_life(packages: list[Package], fs: Filesystem, ctx: AnalysisContext,
                 table: EolTable, settings: ComplianceSettings, where: _Where,
                 result: AnalysisResult) -> list[Finding]:
    today = ctx.now.date()
    count_extended = settings.policy.count_extended_support
    out: list[Finding] = []
    distro = ctx.distro
    product = table.products.get(distro.family) if distro and distro.version else None
    if distro is not None and distro.version and product is not None:
        verdict = eol.judge(product, distro.version, today, count_extended)
        cycle = product.cycle_of(distro.version)
        if verdict is not None or (cycle is not None and cycle.eol is not None):
            result.os_eol = verdict is not None and verdict.ended is not None
        if verdict is not None:
            codename = verdict.cycle.codename if not verdict.predates else None
            label = f"{product.title} {distro.version}" + (f" ({codename})" if codename else "")
            out.append(_eol_finding("os", label, verdict, OS_EOL_SEVERITY, distro.source_path,
                                    distro.layer, where, f"os-release {distro.version}",
                                    distro.version))
    seen: set[tuple[str, str, str | None]] = set()
    for runtime in eol.runtimes(packages, fs, ctx.image):
        runtime_product = table.products.get(runtime.product)
        if runtime_product is None:
            continue
        verdict = eol.judge(runtime_product, runtime.version, today, count_extended)
        # python3.11 and python3 3.11.2 are one release: one finding per release and place
        release = runtime.version if verdict is None or verdict.predates else verdict.cycle.cycle
        if (runtime.product, release, runtime.path) in seen:
            continue
        seen.add((runtime.product, release, runtime.path))
        if verdict is not None:
            label = f"{runtime_product.title} " + (
                runtime.version if verdict.predates else verdict.cycle.cycle)
            distro_backed = runtime.os_package and result.os_eol is False
            finding = _eol_finding("runtime", label, verdict,
                                   DISTRO_RUNTIME_SEVERITY if distro_backed
                                   else RUNTIME_EOL_SEVERITY,
                                   runtime.path, runtime.layer, where, runtime.evidence,
                                   runtime.version)
            if distro_backed:
                finding = replace(finding, title=f"{finding.title} (an OS package: the OS "
                                                 "release is supported and may patch it)")
            out.append(finding)
    return out


def _eol_finding(scope: str, label: str, verdict: eol.Verdict, severity: Severity,
                 path: str | None, layer: int | None, where: _Where, evidence: str,
                 version: str) -> Finding:
    cycle = verdict.cycle
    if verdict.predates:
        check = f"{scope}-end-of-life"
        title = (f"{label} is older than {verdict.product.title} {cycle.cycle}, which reached "
                 f"end of life on {verdict.ended}")
    elif verdict.ended is not None:
        check, title = f"{scope}-end-of-life", f"{label} reached end of life on {verdict.ended}"
    else:
        check = f"{scope}-regular-support-ended"
        severity = REDUCED_SUPPORT_SEVERITY
        title = (f"{label}: regular security support ended on {verdict.reduced}; extended "
                 f"support until {cycle.extended}")
    return Finding(
        kind="compliance", id=check, severity=severity, title=title, path=path, layer=layer,
        extra={"package": f"{verdict.product.name}@{version if verdict.predates else cycle.cycle}",
               "check": "end-of-life", "product": verdict.product.name,
               "cycle": None if verdict.predates else cycle.cycle, "eol": cycle.eol_text,
               "extended": cycle.extended_text, "source": verdict.product.source,
               "evidence": evidence, **where.extra(layer)})
