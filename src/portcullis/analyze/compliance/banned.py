"""Software that should not ship: the shipped list (by category) and the policy's own rules.

The shipped list matches installed packages by name, whatever the package manager, and
executables copied in without one: regular files of those names in ``/usr/local/bin`` and
``/usr/local/sbin`` (where no package manager installs), and in the system bin directories
of an image that has no OS package database at all. Symbolic links are never matched: BusyBox
makes ``nc`` a link to itself in every Alpine image.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import msgspec

from portcullis.analyze.compliance.data import BANNED_SOFTWARE, shipped
from portcullis.errors import ConfigError
from portcullis.model.compliance import BANNED_CATEGORIES, BannedRule, CompliancePolicy

LOCAL_BIN_DIRS = ("/usr/local/bin", "/usr/local/sbin")
SYSTEM_BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin")


class BannedSoftware(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    packages: frozenset[str]
    binaries: frozenset[str]
    category: str
    reason: str


@cache
def default_list() -> tuple[BannedSoftware, ...]:
    doc = shipped(BANNED_SOFTWARE)
    out: list[BannedSoftware] = []
    try:
        for item in doc["software"]:
            if item["category"] not in BANNED_CATEGORIES:
                raise ConfigError(f"{BANNED_SOFTWARE}: unknown category {item['category']!r}")
            out.append(BannedSoftware(
                name=item["name"], category=item["category"], reason=item["reason"],
                packages=frozenset(p.casefold() for p in item["packages"]),
                binaries=frozenset(item["binaries"])))
    except (KeyError, TypeError) as e:
        raise ConfigError(f"shipped {BANNED_SOFTWARE} is malformed: {e}") from e
    return tuple(out)


def active(policy: CompliancePolicy) -> list[BannedSoftware]:
    """The shipped entries the policy keeps: its categories, minus what it allows."""
    if not policy.default_banned:
        return []
    allowed = {name.casefold() for name in policy.allow}
    out = []
    for item in default_list():
        if item.category not in policy.banned_categories or item.name.casefold() in allowed:
            continue
        packages = item.packages - allowed
        if packages or item.binaries:
            out.append(BannedSoftware(name=item.name, packages=packages,
                                      binaries=item.binaries - allowed,
                                      category=item.category, reason=item.reason))
    return out


def by_package_name(items: Iterable[BannedSoftware]) -> dict[str, BannedSoftware]:
    return {package: item for item in items for package in item.packages}


def rules_by_name(rules: Iterable[BannedRule]) -> dict[str, list[BannedRule]]:
    out: dict[str, list[BannedRule]] = {}
    for rule in rules:
        out.setdefault(rule.name.casefold(), []).append(rule)
    return out
