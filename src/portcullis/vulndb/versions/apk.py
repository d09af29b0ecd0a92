"""Alpine package versions (apk-tools), as used by Alpine, Wolfi, Chainguard and other apk
distributions.

Hand-written: apk-tools is C and no maintained Python port exists. Grammar (apk-tools 2):
``N{.N}[letter]{_suffix[N]}[-rN]`` with suffixes ``alpha < beta < pre < rc`` (before the
release) and ``cvs < svn < git < hg < p`` (after it). The key reproduces apk-tools'
token-by-token comparison: tokens of the same kind compare by value; where the kinds differ,
a pre-release suffix is oldest, then the end of the string, then ``-rN``, then a suffix
number, a post-release suffix, a letter, and a further number. Like apk-tools, a dotted
component with leading zeros compares below one without (``1.01 < 1.1``).
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text

ECOSYSTEMS = ("Alpine", "Wolfi", "Chainguard", "Alpaquita", "BellSoft Hardened Containers",
              "MinimOS")

_GRAMMAR = re.compile(
    r"(?P<first>[0-9]+)(?P<dots>(?:\.[0-9]+)*)(?P<letter>[a-z])?"
    r"(?P<suffixes>(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*)(?:-r(?P<rev>[0-9]+))?"
)
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)([0-9]*)")
_PRE = {"alpha": -4, "beta": -3, "pre": -2, "rc": -1}
_POST = {"cvs": 0, "svn": 1, "git": 2, "hg": 3, "p": 4}

# Ranks used where two versions have tokens of different kinds at the same position.
_PRE_SUFFIX, _END, _REVISION, _SUFFIX_NO, _POST_SUFFIX, _LETTER, _DIGIT, _DOTTED = range(8)


def _dotted(component: str, last: bool) -> list[tuple[int, int]]:
    """One ``.N`` component; apk gives leading zeros a negative value, then reads on as a digit."""
    zeros = len(component) - len(component.lstrip("0"))
    if zeros == 0:
        return [(_DOTTED, int(component))]
    tokens = [(_DOTTED, -zeros)]
    rest = component[zeros:]
    if rest or not last:
        # apk-tools switches to a plain digit token after the zeros unless the string ends.
        tokens.append((_DIGIT, int(rest) if rest else 0))
    return tokens


class ApkScheme:
    name = "apk"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        match = _GRAMMAR.fullmatch(version)
        if match is None:
            raise InvalidVersion(self.name, version, "not N{.N}[a-z]{_suffix[N]}[-rN]")
        tokens: list[tuple[int, int]] = [(_DIGIT, int(match["first"]))]
        components = match["dots"].split(".")[1:]
        tail = bool(match["letter"] or match["suffixes"] or match["rev"])
        for i, component in enumerate(components):
            tokens.extend(_dotted(component, last=i == len(components) - 1 and not tail))
        if match["letter"]:
            tokens.append((_LETTER, ord(match["letter"])))
        for name, number in _SUFFIX.findall(match["suffixes"]):
            if name in _PRE:
                tokens.append((_PRE_SUFFIX, _PRE[name]))
            else:
                tokens.append((_POST_SUFFIX, _POST[name]))
            if number:
                tokens.append((_SUFFIX_NO, int(number)))
        if match["rev"] is not None:
            tokens.append((_REVISION, int(match["rev"])))
        tokens.append((_END, 0))
        return tuple(tokens)


SCHEME = ApkScheme()
