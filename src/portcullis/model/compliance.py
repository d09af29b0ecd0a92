"""The software compliance policy: license categories, banned software, end-of-life rules.

Pure data and its parsing from a mapping (the ``[compliance]`` table of a TOML policy file, or
the same keys in any document a policy file embeds). No I/O here: reading the file is the
caller's business (``analyze/compliance/policy.py`` reads a standalone file).

Keys (all optional)::

    [compliance]
    banned-categories = ["attack", "scanner", "miner", "remote-access"]  # the defaults
    allow = ["netcat-openbsd"]          # package names the shipped banned list must not flag
    default-banned = true               # false: only the user's [[compliance.banned]] rules
    count-extended-support = true       # an OS in LTS/extended support is not end of life yet

    [compliance.licenses]               # SPDX id → category (overrides the shipped table)
    "LGPL-2.1-only" = "notice"

    [compliance.packages]               # package name → category, whatever its licenses say
    mongodb = "permissive"

    [compliance.severity]               # category → severity or "none" (not reported)
    unknown = "none"

    [[compliance.banned]]               # the user's own list
    name = "openssl"
    versions = "< 3.0"                  # optional: comparators joined by ","
    reason = "1.1 is out of support"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import ConfigError
from portcullis.model.finding import Severity

# Strictest first: an AND of licenses takes the strictest category, an OR the least strict.
# "unknown" sits between reciprocal and restricted: it needs a human, but it is not known to
# forbid anything.
CATEGORIES = ("forbidden", "restricted", "unknown", "reciprocal", "notice", "permissive")

DEFAULT_SEVERITIES: dict[str, Severity | None] = {
    "forbidden": Severity.HIGH,
    "restricted": None,  # GPL and LGPL: most of any Linux distribution
    "unknown": Severity.LOW,
    "reciprocal": None,
    "notice": None,
    "permissive": None,
}

# Categories of the shipped banned-software list that are on unless the policy says otherwise.
# Compilers and debuggers are legitimate in build images: only a policy turns them on.
BANNED_CATEGORIES = ("attack", "scanner", "miner", "remote-access", "sniffer", "compiler",
                     "debugger")
DEFAULT_BANNED_CATEGORIES = frozenset({"attack", "scanner", "miner", "remote-access"})

OPERATORS = ("<=", ">=", "!=", "==", "<", ">", "=")
_CONSTRAINT = re.compile(r"^\s*(<=|>=|!=|==|<|>|=)\s*(\S+)\s*$")

# Package type, version a, version b → negative, zero or positive as a is older, equal or
# newer under the package's ecosystem; raises ValueError when a version cannot be ordered.
VersionOrder = Callable[[str, str, str], int]


class Constraint(msgspec.Struct, frozen=True):
    op: str  # one of OPERATORS ("=" and "==" are the same)
    version: str

    def holds(self, sign: int) -> bool:
        """Whether ``installed <op> self.version`` given the sign of their comparison."""
        return {"<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0,
                "=": sign == 0, "==": sign == 0, "!=": sign != 0}[self.op]


class BannedRule(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the user's banned list: a package name, optionally only some versions."""

    name: str
    versions: tuple[Constraint, ...] = ()  # all must hold; empty: every version
    reason: str = "banned by policy"
    severity: Severity = Severity.HIGH

    @property
    def versions_text(self) -> str | None:
        return ", ".join(f"{c.op} {c.version}" for c in self.versions) or None


class CompliancePolicy(msgspec.Struct, frozen=True, kw_only=True):
    licenses: Mapping[str, str] = msgspec.field(default_factory=dict)  # SPDX id → category
    packages: Mapping[str, str] = msgspec.field(default_factory=dict)  # package name → category
    severities: Mapping[str, Severity | None] = msgspec.field(
        default_factory=lambda: dict(DEFAULT_SEVERITIES))
    banned: tuple[BannedRule, ...] = ()
    allow: frozenset[str] = frozenset()
    default_banned: bool = True
    banned_categories: frozenset[str] = DEFAULT_BANNED_CATEGORIES
    count_extended_support: bool = True

    @classmethod
    def from_mapping(cls, doc: Any, where: str) -> CompliancePolicy:
        """The policy a ``[compliance]`` table describes; ``ConfigError`` naming ``where``
        and the key for anything unknown or malformed."""
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: [compliance] must be a table")
        known = {"licenses", "packages", "severity", "banned", "allow", "default-banned",
                 "banned-categories", "count-extended-support"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) in [compliance]: {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(known))})")
        severities = dict(DEFAULT_SEVERITIES)
        for category, text in _table(doc, "severity", where).items():
            severities[_category(category, f"{where}: [compliance.severity]")] = \
                _severity(text, f"{where}: [compliance.severity] {category}")
        return cls(
            licenses={k: _category(v, f"{where}: [compliance.licenses] {k!r}")
                      for k, v in _table(doc, "licenses", where).items()},
            packages={k: _category(v, f"{where}: [compliance.packages] {k!r}")
                      for k, v in _table(doc, "packages", where).items()},
            severities=severities,
            banned=tuple(_rule(item, f"{where}: [[compliance.banned]] #{i + 1}")
                         for i, item in enumerate(_list(doc, "banned", where))),
            allow=frozenset(_strings(doc, "allow", where)),
            default_banned=_bool(doc, "default-banned", True, where),
            banned_categories=_banned_categories(doc, where),
            count_extended_support=_bool(doc, "count-extended-support", True, where),
        )


def parse_versions(text: str, where: str) -> tuple[Constraint, ...]:
    """``>= 1.2, < 2`` → constraints; a bare version means ``= version``."""
    out: list[Constraint] = []
    for part in text.split(","):
        if not part.strip():
            raise ConfigError(f"{where}: empty comparator in versions {text!r}")
        match = _CONSTRAINT.match(part)
        if match is None:
            bare = part.strip()
            if " " in bare or not bare:
                raise ConfigError(f"{where}: cannot read versions {text!r} (write e.g. "
                                  "\">= 1.2, < 2.0\")")
            out.append(Constraint("=", bare))
        else:
            out.append(Constraint(match[1], match[2]))
    return tuple(out)


def _table(doc: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    value = doc.get(key, {})
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{where}: [compliance.{key}] must map names to strings")
    return dict(value)


def _list(doc: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: compliance.{key} must be a list")
    return value


def _strings(doc: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = _list(doc, key, where)
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: compliance.{key} must be a list of names")
    return value


def _bool(doc: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: compliance.{key} must be true or false")
    return value


def _category(text: str, where: str) -> str:
    name = text.strip().lower()
    if name not in CATEGORIES:
        raise ConfigError(f"{where}: unknown license category {text!r} "
                          f"(one of {', '.join(CATEGORIES)})")
    return name


def _severity(text: str, where: str) -> Severity | None:
    if text.strip().lower() == "none":
        return None
    try:
        return Severity.parse(text)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from e


def _banned_categories(doc: Mapping[str, Any], where: str) -> frozenset[str]:
    if "banned-categories" not in doc:
        return DEFAULT_BANNED_CATEGORIES
    names = _strings(doc, "banned-categories", where) if doc["banned-categories"] else []
    unknown = sorted(set(names) - set(BANNED_CATEGORIES))
    if unknown:
        raise ConfigError(f"{where}: unknown banned-categories {', '.join(unknown)} "
                          f"(known: {', '.join(BANNED_CATEGORIES)})")
    return frozenset(names)


def _rule(item: Any, where: str) -> BannedRule:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: must be a table with name, versions, reason")
    unknown = sorted(set(item) - {"name", "versions", "reason", "severity"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: needs a name")
    versions = item.get("versions")
    reason = item.get("reason", "banned by policy")
    severity = item.get("severity", "high")
    if versions is not None and not isinstance(versions, str):
        raise ConfigError(f"{where}: versions must be a string such as \">= 1.0, < 2.0\"")
    if not isinstance(reason, str) or not isinstance(severity, str):
        raise ConfigError(f"{where}: reason and severity must be strings")
    level = _severity(severity, where)
    if level is None:
        raise ConfigError(f"{where}: a banned rule needs a severity (not none)")
    return BannedRule(name=name.strip(), reason=reason, severity=level,
                      versions=parse_versions(versions, where) if versions else ())


class ComplianceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the compliance analyzer gets from the scan: the policy, the refreshed end-of-life
    file (``db update --eol-source`` writes it; None or missing: the shipped one), and the
    version order of the package ecosystems (the analyzers cannot import the vulnerability
    code that knows it; None: version ranges in the policy cannot be checked)."""

    policy: CompliancePolicy = msgspec.field(default_factory=CompliancePolicy)
    eol_file: Path | None = None
    version_order: VersionOrder | None = None
