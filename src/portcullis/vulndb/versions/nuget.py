"""NuGet package versions, as used by the NuGet ecosystem.

Hand-written: NuGet.Versioning is .NET and no Python port is maintained. NuGet reads SemVer
2.0 plus the legacy fourth number: ``Major[.Minor[.Patch[.Revision]]][-pre][+build]``,
missing numbers are 0 (``1.0 == 1.0.0 == 1.0.0.0``), leading zeros are ignored; the
pre-release compares as in SemVer 2.0 but case-insensitively (``1.0.0-BETA == 1.0.0-beta``);
build metadata is ignored.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text
from portcullis.vulndb.versions.semver import prerelease_key

ECOSYSTEMS = ("NuGet",)

_NUGET = re.compile(
    r"(?P<numbers>[0-9]+(?:\.[0-9]+){0,3})"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)


class NugetScheme:
    name = "nuget"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        match = _NUGET.fullmatch(version.removeprefix("v").removeprefix("V"))
        if match is None:
            raise InvalidVersion(self.name, version, "not N[.N[.N[.N]]][-pre][+build]")
        numbers = [int(n) for n in match["numbers"].split(".")]
        numbers += [0] * (4 - len(numbers))
        pre = match["pre"].lower() if match["pre"] is not None else None
        return (*numbers, prerelease_key(pre))


SCHEME = NugetScheme()
