"""Semantic Versioning 2.0.0 precedence, as used by npm, crates.io, Hex and SwiftURL, and by
every OSV range of type SEMVER.

Hand-written: the PyPI libraries (``semver``, ``semantic_version``) refuse the leading ``v``
and ``=`` that npm tolerates and would be a new dependency for twenty lines. Precedence is
section 11 of the spec: major, minor, patch as numbers; a pre-release sorts before its
release; pre-release identifiers compare left to right, numeric ones as numbers and below
alphanumeric ones (ASCII order); more identifiers win when all before are equal; build
metadata is ignored (``1.0.0+a == 1.0.0+b``). Numbers with leading zeros are accepted and
compare as numbers, so a sloppy registry version still orders instead of being dropped.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text

ECOSYSTEMS = ("npm", "crates.io", "Hex", "SwiftURL")

_SEMVER = re.compile(
    r"(?P<major>[0-9]+)\.(?P<minor>[0-9]+)\.(?P<patch>[0-9]+)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


def prerelease_key(pre: str | None) -> tuple[object, ...]:
    """A release (no pre-release) sorts after all of its pre-releases."""
    if pre is None:
        return (1,)
    idents = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
    )
    return (0, idents)


def semver_key(scheme: str, version: str, text: str) -> SortKey:
    """Key of ``text`` (``version`` stripped of its prefix), errors naming ``version``."""
    match = _SEMVER.fullmatch(text)
    if match is None:
        raise InvalidVersion(scheme, version, "not MAJOR.MINOR.PATCH[-pre][+build]")
    return (int(match["major"]), int(match["minor"]), int(match["patch"]),
            prerelease_key(match["pre"]))


class SemverScheme:
    name = "semver"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        text = version.removeprefix("=").removeprefix("v").removeprefix("V")
        return semver_key(self.name, version, text)


SCHEME = SemverScheme()
