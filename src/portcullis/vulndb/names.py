"""Package names as the database indexes them, and ecosystems split from their release.

Both the build and the matcher pass names through ``normalize_name`` so that a lookup finds a
record however each side spelled the name. The rules follow each registry's own notion of
"the same package":

- PyPI: PEP 503 (case-insensitive, runs of ``-_.`` are one ``-``).
- NuGet, Packagist, Hex, Pub: case-insensitive registries, lower-cased.
- crates.io: case-insensitive, and ``-`` and ``_`` name the same crate.
- Debian, Ubuntu: Debian policy allows only lower-case names; lower-cased (records name the
  *source* package; the matcher looks up the source name).
- npm, Go, Maven, RubyGems and the RPM/APK distros: case-sensitive (npm kept legacy mixed-case
  names such as ``JSONStream``; Go module paths and Maven coordinates are exact), so kept as is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_PEP503 = re.compile(r"[-_.]+")


def _pep503(name: str) -> str:
    return _PEP503.sub("-", name).lower()


def _lower(name: str) -> str:
    return name.lower()


def _crate(name: str) -> str:
    return name.lower().replace("_", "-")


def _exact(name: str) -> str:
    return name


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "PyPI": _pep503,
    "NuGet": _lower,
    "Packagist": _lower,
    "Hex": _lower,
    "Pub": _lower,
    "crates.io": _crate,
    "Debian": _lower,
    "Ubuntu": _lower,
}


def split_ecosystem(ecosystem: str) -> tuple[str, str]:
    """``Debian:12`` → (``Debian``, ``12``); ``Ubuntu:Pro:18.04:LTS`` → (``Ubuntu``,
    ``Pro:18.04:LTS``); ``PyPI`` → (``PyPI``, ``""``)."""
    base, _, release = ecosystem.partition(":")
    return base.strip(), release.strip()


def normalize_name(ecosystem: str, name: str) -> str:
    """``name`` as the index keys it for ``ecosystem`` (with or without a release suffix)."""
    base, _ = split_ecosystem(ecosystem)
    return NORMALIZERS.get(base, _exact)(name.strip())
