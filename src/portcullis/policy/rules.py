"""Block rules: which findings stop the pipeline.

A rule belongs to one finding kind (or ``any``) and is a conjunction of conditions; a kind may
have several rules, and a finding is blocked by the first that matches. Conditions read the
finding as the JSON report writes it (``Finding.to_dict()`` plus ``from_base_image``), so kinds
added later are covered by ``severity``, ``ids``, ``paths``, ``categories`` and ``where``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

import msgspec

from portcullis.model.finding import Severity

ANY_KIND = "any"


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # a finding kind, or "any"
    name: str  # how the verdict names it: "rules.vulnerability[0] (policy.yaml:7)"
    severity: Severity | None = None  # at or above
    only_fixable: bool = False  # a fixed version exists
    kev_only: bool = False  # listed in CISA's Known Exploited Vulnerabilities
    epss_above: float | None = None  # EPSS probability strictly above
    ids: tuple[str, ...] = ()  # globs on the id or an alias
    packages: tuple[str, ...] = ()  # globs on the package name or purl
    paths: tuple[str, ...] = ()  # globs on the image path
    categories: tuple[str, ...] = ()  # the finding's category (licenses, banned software)
    from_base_image: bool | None = None
    where: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # field → accepted values

    def matches(self, finding: Mapping[str, Any]) -> bool:
        if self.kind not in (ANY_KIND, finding.get("kind")):
            return False
        return all(test(self, finding) for test in _CONDITIONS)

    def explain(self, finding: Mapping[str, Any]) -> str:
        """The violation's reason: what the finding is and what the rule asked."""
        what = f"{finding.get('severity')} {finding.get('kind')} {finding.get('id')}"
        if finding.get("package_name"):
            what += f" in {finding['package_name']} {finding.get('installed_version') or ''}"
        elif finding.get("path"):
            what += f" at {finding['path']}"
        return f"{what.rstrip()}: {self.describe()}"

    def describe(self) -> str:
        parts: list[str] = []
        if self.severity is not None:
            parts.append(f"severity at or above {self.severity.name}")
        if self.only_fixable:
            parts.append("a fix exists")
        if self.kev_only:
            parts.append("known exploited (KEV)")
        if self.epss_above is not None:
            parts.append(f"EPSS above {self.epss_above:g}")
        for label, values in (("id", self.ids), ("package", self.packages),
                              ("path", self.paths), ("category", self.categories)):
            if values:
                parts.append(f"{label} in {', '.join(values)}")
        if self.from_base_image is not None:
            parts.append("from the base image" if self.from_base_image
                         else "not from the base image")
        parts.extend(f"{key} in {', '.join(map(str, values))}" for key, values in self.where)
        kind = "any finding" if self.kind == ANY_KIND else f"any {self.kind}"
        return f"{self.name} blocks {kind}" + (f" with {' and '.join(parts)}" if parts else "")


def _severity(rule: Rule, f: Mapping[str, Any]) -> bool:
    if rule.severity is None:
        return True
    name = str(f.get("severity", "UNKNOWN"))
    return Severity[name] >= rule.severity if name in Severity.__members__ else False


def _fixable(rule: Rule, f: Mapping[str, Any]) -> bool:
    return not rule.only_fixable or bool(f.get("fixed_versions"))


def _kev(rule: Rule, f: Mapping[str, Any]) -> bool:
    return not rule.kev_only or f.get("kev") is True


def _epss(rule: Rule, f: Mapping[str, Any]) -> bool:
    if rule.epss_above is None:
        return True
    epss = f.get("epss")
    return isinstance(epss, int | float) and epss > rule.epss_above


def _ids(rule: Rule, f: Mapping[str, Any]) -> bool:
    return not rule.ids or any_glob(rule.ids, finding_ids(f))


def _packages(rule: Rule, f: Mapping[str, Any]) -> bool:
    names = [str(v) for v in (f.get("package_name"), f.get("package")) if v]
    return not rule.packages or any_glob(rule.packages, names)


def _paths(rule: Rule, f: Mapping[str, Any]) -> bool:
    return not rule.paths or any_glob(rule.paths, [f["path"]] if f.get("path") else [])


def _categories(rule: Rule, f: Mapping[str, Any]) -> bool:
    return not rule.categories or f.get("category") in rule.categories


def _base(rule: Rule, f: Mapping[str, Any]) -> bool:
    return rule.from_base_image is None or f.get("from_base_image") is rule.from_base_image


def _where(rule: Rule, f: Mapping[str, Any]) -> bool:
    for key, accepted in rule.where:
        value = f.get(key)
        values = value if isinstance(value, list) else [value]
        if not any(v in accepted for v in values):
            return False
    return True


_CONDITIONS = (_severity, _fixable, _kev, _epss, _ids, _packages, _paths, _categories, _base,
               _where)


def finding_ids(f: Mapping[str, Any]) -> list[str]:
    """A finding's id and its aliases (a CVE listed under its GHSA id still matches)."""
    aliases = f.get("aliases")
    return [str(f.get("id")), *(str(a) for a in aliases or [] if isinstance(aliases, list))]


def any_glob(patterns: tuple[str, ...], values: list[str]) -> bool:
    return any(fnmatchcase(v, p) for p in patterns for v in values)
