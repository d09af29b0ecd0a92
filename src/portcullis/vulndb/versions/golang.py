"""Go module versions, as used by the Go ecosystem (modules, ``stdlib``, ``toolchain``).

Hand-written, on top of the SemVer precedence in ``semver.py`` (Go's ``x/mod/semver`` is
SemVer 2.0 with a mandatory ``v``): pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``,
``v1.2.4-0.20191109021931-daa7c04131f5``) are pre-releases whose timestamp orders them,
``+incompatible`` is build metadata and so ignored, and the shorthands ``v1`` and ``v1.2``
mean ``v1.0.0`` and ``v1.2.0`` as in ``semver.Canonical``. OSV's Go records omit the ``v``,
so it is optional here. Go toolchain versions as a binary reports them (``go1.21.3``,
``go1.21``, ``go1.22rc1``) are read as ``1.21.3``, ``1.21.0``, ``1.22.0-rc.1``, the form the Go
vulnerability database uses for ``stdlib``.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import SortKey, check_text
from portcullis.vulndb.versions.semver import semver_key

ECOSYSTEMS = ("Go",)

_TOOLCHAIN = re.compile(r"go([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:(beta|rc)([0-9]+))?")
_SHORT = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _toolchain(match: re.Match[str]) -> str:
    major, minor, patch, kind, number = match.groups()
    text = f"{major}.{minor or 0}.{patch or 0}"
    return f"{text}-{kind}.{number}" if kind else text


class GoScheme:
    name = "go"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        toolchain = _TOOLCHAIN.fullmatch(version)
        if toolchain is not None:
            return semver_key(self.name, version, _toolchain(toolchain))
        text = version.removeprefix("v")
        if _SHORT.fullmatch(text):
            text += ".0" * (2 - text.count("."))
        return semver_key(self.name, version, text)


SCHEME = GoScheme()
