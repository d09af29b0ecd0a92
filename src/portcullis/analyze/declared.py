"""One inventory entry per package: what a lock file declares folded into what is installed.

An application's lock file (package-lock.json, requirements.txt, Gemfile.lock, ...) lists
the packages its installer put into the image (node_modules, site-packages, ...). Both are
read, and without this step every such package, and so every vulnerability in it, would be
reported twice. As Trivy and Syft do for images, the installed package is the entry: a
declared one with the same name and an equal version (under its ecosystem's rules: PEP 440
says 2.2 == 2.2.0) only adds its location to it.

A declared entry with no installed twin stays, marked ``declared``: the application's
dependencies were not installed (or not where we look), yet the image ships the lock file.
One whose version differs from the installed one stays too: the lock file and the image
disagree, and both are worth seeing.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Callable, Hashable, Sequence

import msgspec
from msgspec.structs import replace

from portcullis.model.files import Location
from portcullis.model.package import Package

log = logging.getLogger(__name__)

DECLARED_PROPERTY = "declared"

# What identifies a package across the files that mention it: (type, name, version) with
# name and version in their ecosystem's canonical form.
Identity = tuple[str, str, Hashable]

_SEMVER = re.compile(
    r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_NUMERIC = re.compile(r"^\d+(?:\.\d+)*$")
_COMPOSER = re.compile(r"^v?(\d+(?:\.\d+){0,3})(.*)$", re.IGNORECASE)


# version equality per ecosystem: a canonical key, or None when the rule cannot read it ------


def _pep440(version: str) -> Hashable | None:
    from packaging.version import Version  # imported on first use: most scans have no Python

    # Version equality and hash ignore trailing zeros and spelling (1.0-post1 == 1.0.post1).
    return Version(version)  # InvalidVersion is a ValueError: see identity()


def _pep503(name: str) -> str:
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def _semver(version: str) -> Hashable | None:
    """npm and Cargo: build metadata does not tell versions apart (neither registry lets two
    versions differ only by it); a leading ``v`` or ``=`` is how npm spells the same."""
    match = _SEMVER.match(version.strip().lstrip("=v"))
    if match is None:
        return None
    return (int(match[1]), int(match[2]), int(match[3]), match[4] or "")


def _dropped_zeros(numbers: Sequence[int]) -> tuple[int, ...]:
    out = list(numbers)
    while out and out[-1] == 0:
        out.pop()
    return tuple(out)


def _gem(version: str) -> Hashable | None:
    """Gem::Version: 1.0 == 1.0.0 (trailing zero segments do not count)."""
    version = version.strip()
    if not _NUMERIC.match(version):
        return None
    return _dropped_zeros([int(part) for part in version.split(".")])


def _composer(version: str) -> Hashable | None:
    """Composer normalises 1.2 and v1.2.0 to 1.2.0.0; stability suffixes compare case-blind."""
    match = _COMPOSER.match(version.strip())
    if match is None:
        return None
    return (_dropped_zeros([int(part) for part in match[1].split(".")]), match[2].lower())


def _nuget(version: str) -> Hashable | None:
    """NuGet: 1.0 == 1.0.0 == 1.0.0.0, case-blind, build metadata ignored."""
    release, _, prerelease = version.strip().lower().partition("+")[0].partition("-")
    if not _NUMERIC.match(release):
        return None
    return (_dropped_zeros([int(part) for part in release.split(".")]), prerelease)


def _no_rule(version: str) -> Hashable | None:
    return None


def _same(name: str) -> str:
    return name


class _Rules(msgspec.Struct, frozen=True):
    name: Callable[[str], str]
    version: Callable[[str], Hashable | None]


_RULES: dict[str, _Rules] = {
    "python": _Rules(_pep503, _pep440),  # PEP 503 names
    "npm": _Rules(_same, _semver),
    "rust-crate": _Rules(_same, _semver),
    "gem": _Rules(_same, _gem),
    "php-composer": _Rules(str.lower, _composer),  # Composer names are case-insensitive
    "dotnet": _Rules(str.lower, _nuget),  # so are NuGet ids
}
_DEFAULT = _Rules(_same, _no_rule)


def identity(package: Package) -> Identity:
    """Equal for two entries that name the same package. A version the ecosystem's rule cannot
    read equals only the very same string: a bad version must not sink the scan."""
    rules = _RULES.get(package.type, _DEFAULT)
    try:
        canonical = rules.version(package.version)
    except ValueError:
        log.debug("unreadable %s version %r of %s", package.type, package.version, package.name)
        canonical = None
    version: Hashable = ("exact", package.version) if canonical is None else ("rule", canonical)
    return (package.type, rules.name(package.name), version)


# the merge ----------------------------------------------------------------------------------


def _parts(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _closeness(declared: Package, installed: Package) -> int:
    """Path components the lock file's directory shares with the installed package's file:
    /app/package-lock.json describes /app/node_modules, not /usr/lib/node_modules."""
    if not declared.locations or not installed.locations:
        return 0
    shared = 0
    here = _parts(posixpath.dirname(declared.locations[0].path))
    for mine, theirs in zip(here, _parts(installed.locations[0].path), strict=False):
        if mine != theirs:
            break
        shared += 1
    return shared


def _closest(declared: Package, candidates: Sequence[int], packages: Sequence[Package]) -> int:
    def rank(i: int) -> tuple[int, tuple[str, str, str, str]]:
        return (-_closeness(declared, packages[i]), packages[i].sort_key())

    return min(candidates, key=rank)


def _location_key(location: Location) -> tuple[str, int, int]:
    return (location.path, location.line or 0, location.layer or 0)


def _absorb(installed: Package, declared: Sequence[Package]) -> Package:
    """The installed package, with the declared entries' locations after its own."""
    extra = sorted((loc for d in declared for loc in d.locations), key=_location_key)
    locations = tuple(dict.fromkeys((*installed.locations, *extra)))
    licenses = installed.licenses or next(
        (d.licenses for d in sorted(declared, key=Package.sort_key) if d.licenses), ())
    return replace(installed, locations=locations, licenses=licenses)


def _marked(package: Package) -> Package:
    return replace(package, properties={**package.properties, DECLARED_PROPERTY: "true"})


def merge_declared(packages: Sequence[Package]) -> list[Package]:
    """Fold each declared entry into the installed package it names (the closest one by path
    when several do); keep the others, marked. Order otherwise as given; what is merged into
    what does not depend on the order."""
    identities = [identity(p) for p in packages]
    installed: dict[Identity, list[int]] = {}
    for i, package in enumerate(packages):
        if not package.declared:
            installed.setdefault(identities[i], []).append(i)
    absorbed: dict[int, list[Package]] = {}
    kept: set[int] = set()
    for i, package in enumerate(packages):
        if not package.declared:
            continue
        twins = installed.get(identities[i])
        if not twins:
            kept.add(i)
            continue
        absorbed.setdefault(_closest(package, twins, packages), []).append(package)
    out: list[Package] = []
    for i, package in enumerate(packages):
        if i in absorbed:
            out.append(_absorb(package, absorbed[i]))
        elif i in kept:
            out.append(_marked(package))
        elif not package.declared:
            out.append(package)
    return out
