"""Inventory + distro + database → vulnerability findings. Knows packages, not images.

Per package: the OSV ecosystem and the name the records use (the source package for Debian
and Ubuntu, the origin for Alpine), one indexed lookup, then the range evaluation of
``vulndb.ranges`` under the ecosystem's version scheme. Records that alias each other (a GHSA,
a PYSEC and a CVE for one flaw) become one finding per package, every id listed. Withdrawn
records never match. An installed version the scheme cannot read is a located warning, never
a guess in either direction.

When several sources describe one flaw for one package (an OSV record and a native distro
feed's entry for the same CVE), the finding keeps the richer status: ``fixed`` when any gives
a fixed version, else ``will-not-fix`` when one says the distribution will not fix it (the
Debian tracker's no-dsa, ignored, end-of-life), else ``affected``.

RPM distributions: AlmaLinux (``AlmaLinux:9``), Rocky Linux (``Rocky Linux:9``) and Red Hat
Enterprise Linux (``Red Hat:enterprise_linux:9::appstream``, ``...::baseos`` and the other
repositories of that major release, never the EUS/AUS streams or layered products). Only the
major version of os-release's VERSION_ID picks the release, so 8 and 9 never mix. AlmaLinux and
Rocky records name binary rpms (``avahi-compat-howl``); a Red Hat package is looked up under its
binary and, when it differs, its source rpm name, so either layout of Red Hat's records finds it.

Not matched yet, counted in one warning so the gap is visible in the report: SUSE and openSUSE
(their records name product streams and modules, ``SUSE:Linux Enterprise Module for Basesystem
15 SP5``, that os-release does not identify), Amazon Linux, Azure Linux and Mariner (not among
the exports ``db update`` fetches), Oracle Linux, CentOS and Fedora.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from portcullis.model.distro import Distro
from portcullis.model.finding import Finding, Warning
from portcullis.model.package import Package
from portcullis.vulndb.debian_tracker import WILL_NOT_FIX
from portcullis.vulndb.ranges import evaluate
from portcullis.vulndb.severity import Rating, rate
from portcullis.vulndb.store import AffectedRow, VulnStore
from portcullis.vulndb.versions import UnknownEcosystem, scheme_for

ANALYZER = "vuln"

# Package.type → OSV ecosystem, for application packages (no release: they are global).
LANGUAGE_ECOSYSTEMS = {
    "python": "PyPI",
    "npm": "npm",
    "java-archive": "Maven",
    "go-module": "Go",
    "rust-crate": "crates.io",
    "gem": "RubyGems",
    "php-composer": "Packagist",
    "dotnet": "NuGet",
}


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _os_ecosystem(distro: Distro) -> str | None:
    """The OSV ecosystem, with its release, that the distribution's advisories use."""
    version = distro.version or ""
    family = distro.family
    if family == "debian" and version:
        return f"Debian:{_major(version)}"
    if family == "ubuntu" and version:
        return f"Ubuntu:{_major_minor(version)}"
    if family == "alpine" and version:
        return f"Alpine:v{_major_minor(version)}"
    if family in ("alma", "almalinux") and version:  # os_release names the family "alma"
        return f"AlmaLinux:{_major(version)}"
    if family == "rocky" and version:
        return f"Rocky Linux:{_major(version)}"
    if family == "redhat" and version:
        # ``Red Hat:enterprise_linux:9`` is a prefix: the store matches it to the release's
        # repositories (``...:9::appstream``, ``...:9::baseos``), not to ``rhel_eus:9.2``.
        return f"Red Hat:enterprise_linux:{_major(version)}"
    if family == "wolfi":
        return "Wolfi"
    if family == "chainguard":
        return "Chainguard"
    return None


OS_TYPES = frozenset({"deb", "apk", "rpm"})

# Why an rpm family is not matched, for the warning that counts its packages.
_NOT_FETCHED = "not among the OSV exports `db update` fetches"
UNMATCHED_WHY = {
    "suse": "SUSE records name product streams and modules that os-release does not identify",
    "opensuse": "openSUSE records name product streams that are not mapped yet",
    "amazon": f"Amazon Linux is {_NOT_FETCHED}",
    "azurelinux": f"Azure Linux is {_NOT_FETCHED}",
    "mariner": f"CBL-Mariner is {_NOT_FETCHED}",
}


class Target(msgspec.Struct, frozen=True):
    """What to look up for one package: OSV ecosystem, the name records use, the version."""

    ecosystem: str
    name: str
    version: str


def target_of(package: Package, distro: Distro | None) -> Target | None:
    if package.type in LANGUAGE_ECOSYSTEMS:
        return Target(LANGUAGE_ECOSYSTEMS[package.type], package.name, package.version)
    if package.type not in OS_TYPES or distro is None:
        return None
    ecosystem = _os_ecosystem(distro)
    if ecosystem is None:
        return None
    if package.type == "deb":  # Debian and Ubuntu advisories name source packages
        return Target(ecosystem, package.source_name or package.name,
                      package.source_version or package.version)
    if package.type == "apk":  # Alpine's secdb and OSV name the origin package
        return Target(ecosystem, package.source_name or package.name, package.version)
    return Target(ecosystem, package.name, package.version)  # rpm: the binary package


def _source_target(package: Package, target: Target) -> Target | None:
    """The second key of a Red Hat rpm: its source package (see the module docstring)."""
    if (package.type != "rpm" or not target.ecosystem.startswith("Red Hat:")
            or not package.source_name or package.source_name == package.name):
        return None
    return Target(target.ecosystem, package.source_name,
                  package.source_version or package.version)


class Hit(msgspec.Struct):
    """One record that affects one package."""

    row: AffectedRow
    fixed: tuple[str, ...]
    aliases: tuple[str, ...]
    summary: str
    rating: Rating
    upstream: tuple[str, ...] = ()  # CVEs a distro record is about (not aliases: a USN has many)
    wont_fix: bool = False  # the source says the distribution will not fix it


class MatchResult(msgspec.Struct):
    findings: list[Finding] = msgspec.field(default_factory=list)
    warnings: list[Warning] = msgspec.field(default_factory=list)
    matched_packages: int = 0
    unsupported: int = 0


def match_packages(packages: Sequence[Package], distro: Distro | None,
                   store: VulnStore) -> MatchResult:
    out = MatchResult()
    other_types: Counter[str] = Counter()
    for package in packages:
        target = target_of(package, distro)
        if target is None:
            if package.type in OS_TYPES:
                out.unsupported += 1
            else:
                other_types[package.type] += 1
            continue
        out.matched_packages += 1
        hits = _hits(package, target, store, out.warnings)
        source = _source_target(package, target)
        if source is not None:
            seen = {h.row.vuln_id for h in hits}
            hits += [h for h in _hits(package, source, store, out.warnings)
                     if h.row.vuln_id not in seen]
        out.findings.extend(_findings(package, target, hits, store))
    for kind, count in sorted(other_types.items()):  # never a silent gap in the inventory
        out.warnings.append(Warning(
            message=f"{count} packages of type {kind} not checked for vulnerabilities: no "
                    "advisory ecosystem is mapped for that type", analyzer=ANALYZER))
    if out.unsupported:
        family = distro.family if distro else "unknown"
        out.warnings.append(Warning(
            message=f"{out.unsupported} OS packages not checked for vulnerabilities: no "
                    f"advisory source is mapped for the {family} distribution yet"
                    + (f" ({UNMATCHED_WHY[family]})" if family in UNMATCHED_WHY else ""),
            analyzer=ANALYZER))
    return out


def _where(package: Package) -> tuple[str | None, int | None]:
    location = package.locations[0] if package.locations else None
    return (location.path if location else None), package.introduced_in


def _hits(package: Package, target: Target, store: VulnStore,
          warnings: list[Warning]) -> list[Hit]:
    try:
        scheme = scheme_for(target.ecosystem)
    except UnknownEcosystem:
        return []
    hits = []
    for row in store.affected_for(target.ecosystem, target.name):
        if row.withdrawn:
            continue
        verdict = evaluate(target.version, msgspec.to_builtins(row.ranges),
                           list(row.versions), scheme)
        if verdict.problems and not verdict.affected:
            path, layer = _where(package)
            warnings.append(Warning(
                message=f"{row.vuln_id} not evaluated for {package.name} {target.version}: "
                        f"{verdict.problems[0]}", path=path, layer=layer, analyzer=ANALYZER))
        if not verdict.affected:
            continue
        record = store.vulnerability(row.vuln_id)
        aliases = record.aliases if record else ()
        summary = record.summary if record else ""
        severities = [*row.severity, *(record.severity if record else ())]
        label = _label(row.database_specific) or _label(record.database_specific if record
                                                        else None)
        specific = row.ecosystem_specific or {}
        # Ubuntu's priority; Debian's urgency (its OSV records and the tracker feed).
        distro_label = specific.get("ubuntu_priority") or specific.get("urgency")
        # A distro record about one CVE (UBUNTU-CVE-2023-38545) names it in upstream or
        # related; a notice about several (a USN) keeps its own id.
        about = (record.upstream or record.related) if record else ()
        upstream = tuple(u for u in about if u.startswith("CVE-"))
        hits.append(Hit(row=row, fixed=verdict.fixed, aliases=aliases, summary=summary,
                        rating=rate(severities, label,
                                    distro_label if isinstance(distro_label, str) else None),
                        upstream=upstream, wont_fix=specific.get("status") in WILL_NOT_FIX))
    return hits


def _label(specific: dict[str, Any] | None) -> str | None:
    value = (specific or {}).get("severity")
    return value if isinstance(value, str) else None


def _groups(hits: Iterable[Hit]) -> list[list[Hit]]:
    """Records that share an id or alias describe one flaw: group them (union-find)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    hits = list(hits)
    for hit in hits:
        # A record about exactly one CVE (DEBIAN-CVE-..., a native feed's entry) is that CVE.
        about = hit.upstream if len(hit.upstream) == 1 else ()
        for alias in (*hit.aliases, *about):
            parent[find(alias)] = find(hit.row.vuln_id)
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(find(hit.row.vuln_id), []).append(hit)
    return [groups[k] for k in sorted(groups)]


def _primary(ids: set[str]) -> str:
    """The id users search for: a CVE when there is one, else the smallest record id."""
    cves = sorted(i for i in ids if i.startswith("CVE-"))
    return cves[0] if cves else sorted(ids)[0]


class _NvdSeverity(msgspec.Struct, frozen=True):
    type: str
    score: str


def _with_nvd(best: Rating, ids: set[str], store: VulnStore) -> Rating:
    """NVD's CVSS for a flaw whose records carry none: it rates the finding unless the
    distribution's own rating does (then it only fills in the score and vector)."""
    if best.cvss is not None:
        return best
    for cve in sorted(i for i in ids if i.startswith("CVE-")):
        found = store.nvd_cvss(cve)
        if found is None:
            continue
        nvd = rate([_NvdSeverity(*found)], None)
        if nvd.cvss is None:
            continue  # a vector the cvss library cannot read says nothing
        if best.source == "distro":
            return Rating(best.severity, best.source, nvd.cvss)
        return Rating(nvd.severity, "nvd", nvd.cvss)
    return best


def _status(fixed: Sequence[str], group: Sequence[Hit]) -> str:
    if fixed:
        return "fixed"
    return "will-not-fix" if any(h.wont_fix for h in group) else "affected"


def _exploits(ids: set[str], store: VulnStore) -> tuple[bool, tuple[float, float] | None]:
    """In KEV under any of its CVE ids; the highest EPSS (score, percentile) among them."""
    cves = sorted(i for i in ids if i.startswith("CVE-"))
    scores = [s for s in (store.epss(c) for c in cves) if s is not None]
    return any(store.exploited(c) for c in cves), max(scores, default=None)


def _findings(package: Package, target: Target, hits: list[Hit],
              store: VulnStore) -> list[Finding]:
    path, layer = _where(package)
    out = []
    for group in _groups(hits):
        ids = {h.row.vuln_id for h in group} | {a for h in group for a in h.aliases}
        primary = _primary(ids)
        upstream = {u for h in group for u in h.upstream}
        if not primary.startswith("CVE-") and len(upstream) == 1:
            primary = upstream.pop()  # UBUNTU-CVE-2023-38545 is CVE-2023-38545
            ids.add(primary)
        fixed = sorted({f for h in group for f in h.fixed})
        best = _with_nvd(max((h.rating for h in group), key=Rating.rank), ids, store)
        title = next((h.summary for h in group if h.summary), primary)
        kev, epss = _exploits(ids, store)
        out.append(Finding(
            kind="vulnerability", id=primary, severity=best.severity, title=title, path=path,
            layer=layer, visible=True,
            extra={
                "package": package.purl or f"{package.type}:{package.name}",
                "package_name": package.name,
                "installed_version": package.version,
                "fixed_versions": fixed,
                "status": _status(fixed, group),
                "aliases": sorted(ids - {primary}),
                "records": sorted({h.row.vuln_id for h in group}),  # one per repository row
                "ecosystem": target.ecosystem,
                "cvss": best.cvss,
                "severity_source": best.source,
                "kev": kev,
                "epss": epss[0] if epss else None,
                "epss_percentile": epss[1] if epss else None,
            }))
    return out
