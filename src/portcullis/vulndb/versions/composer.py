"""Composer package versions, as used by Packagist.

Hand-written: the reference is PHP (Composer's ``VersionParser::normalize`` followed by PHP's
``version_compare``). Normalising pads to four numbers and spells the stability out
(``v1.2-b2`` -> ``1.2.0.0-beta2``, ``1.0-p1`` -> ``1.0.0.0-patch1``, ``-dev`` kept, build
metadata and ``@stability`` flags dropped); date versions (``2010.01.02``) are kept as
numbers. ``version_compare`` then splits at dots, dashes and digit/letter changes and orders
the words ``dev < alpha = a < beta = b < RC = rc < (number) < patch = pl = p``, any other word
below ``dev``; where one version runs out, its end sorts as a number would against a word and
below a number. Branch names (``dev-main``, ``1.0.x-dev``) have no release order and are
refused. ``normalize`` agrees with composer/semver's ``VersionParser::normalize`` (Debian's
php-composer-semver) on every orderable input tried.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text

ECOSYSTEMS = ("Packagist",)

_MODIFIER = r"[._-]?(?:(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSIC = re.compile(r"v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER,
                      re.IGNORECASE | re.ASCII)
_DATE = re.compile(r"v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _MODIFIER,
                   re.IGNORECASE | re.ASCII)
_BUILD = re.compile(r"([^,\s+]+)\+\S+")
_FLAG = re.compile(r"@(?:stable|RC|beta|alpha|dev)$", re.IGNORECASE)
_STABILITY = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
# version_compare's word order (matched as prefixes, first hit wins); a number ranks as "#".
_WORDS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("RC", 3), ("rc", 3),
          ("#", 4), ("pl", 5), ("p", 5))
_NUMBER_RANK = 4
_PARTS = re.compile(r"[0-9]+|[^0-9.\-_+]+")


def normalize(version: str) -> str | None:
    """Composer's normal form, or None when the string is not an orderable version."""
    # Composer drops a stability flag (``1.0@beta``) and build metadata (``1.0+build``).
    version = _FLAG.sub("", version)
    build = _BUILD.fullmatch(version)
    if build is not None:
        version = build[1]
    match = _CLASSIC.fullmatch(version)
    if match is not None:
        text = match[1] + "".join(match[i] or ".0" for i in (2, 3, 4))
        stability, number, dev = match[5], match[6], match[7]
    else:
        match = _DATE.fullmatch(version)
        if match is None:
            return None
        text = re.sub(r"[^0-9]", ".", match[1])
        stability, number, dev = match[2], match[3], match[4]
    if stability:
        stability = stability.lower()
        if stability == "stable":
            return text
        text += "-" + _STABILITY.get(stability, stability) + (number or "").lstrip(".-")
    if dev:
        text += "-dev"
    return text


def _word_rank(word: str) -> int:
    return next((rank for name, rank in _WORDS if word.startswith(name)), -1)


class ComposerScheme:
    name = "composer"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        normal = normalize(version)
        if normal is None:
            raise InvalidVersion(self.name, version, "not a Composer version (branch name?)")
        parts = tuple(
            (_NUMBER_RANK, int(p)) if p.isascii() and p.isdigit() else (_word_rank(p), 0)
            for p in _PARTS.findall(normal)
        )
        # The end ranks as a number below every number: an extra number wins, an extra
        # pre-release word loses, an extra patch word wins.
        return (*parts, (_NUMBER_RANK, -1))


SCHEME = ComposerScheme()
