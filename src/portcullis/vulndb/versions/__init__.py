"""Version schemes, one module each, found by OSV ecosystem name.

Each scheme module exposes ``SCHEME`` (a ``Scheme``: ``name`` and ``key(version)``) and
``ECOSYSTEMS`` (the OSV ecosystem names it orders). Adding a scheme is one new module and its
entry in ``_MODULES``.
"""

from __future__ import annotations

from types import ModuleType

from portcullis.vulndb.versions import (
    apk,
    composer,
    dpkg,
    golang,
    maven,
    nuget,
    pep440,
    rpm,
    rubygems,
    semver,
)
from portcullis.vulndb.versions.base import InvalidVersion, Scheme, SortKey, UnknownEcosystem

__all__ = ["InvalidVersion", "Scheme", "SortKey", "UnknownEcosystem", "scheme_for", "semver"]

_MODULES: tuple[ModuleType, ...] = (
    apk, composer, dpkg, golang, maven, nuget, pep440, rpm, rubygems, semver,
)


def _table() -> dict[str, Scheme]:
    table: dict[str, Scheme] = {}
    for module in _MODULES:
        for ecosystem in module.ECOSYSTEMS:
            if ecosystem.casefold() in table:
                raise RuntimeError(f"ecosystem {ecosystem!r} claimed by two schemes")
            table[ecosystem.casefold()] = module.SCHEME
    return table


_BY_ECOSYSTEM = _table()


def scheme_for(ecosystem: str) -> Scheme:
    """The scheme of an OSV ecosystem; the release suffix is ignored (``Debian:12``,
    ``Ubuntu:Pro:18.04:LTS``, ``Alpine:v3.18``, ``AlmaLinux:9``)."""
    base = ecosystem.split(":", 1)[0].strip().casefold()
    try:
        return _BY_ECOSYSTEM[base]
    except KeyError:
        raise UnknownEcosystem(f"no version scheme for OSV ecosystem {ecosystem!r}") from None


def known_ecosystems() -> list[str]:
    """Every ecosystem name (without release) a scheme claims, for docs and messages."""
    return sorted(e for module in _MODULES for e in module.ECOSYSTEMS)
