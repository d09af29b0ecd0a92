"""Maven artifact versions, ordered by the POM reference's "Version Order Specification".

Hand-written from the specification, not from maven-artifact's ``ComparableVersion``: that
class's nested-list comparison is not transitive (3.8.7 has ``0 < 0a``, ``0a < 0ga0alpha``
and ``0ga0alpha < 0``), and a vulnerable range needs a total order. The rules:

- The version is lower-cased and split into tokens at ``.``, at ``-`` and at digit/letter
  changes; each token keeps the separator before it, a digit/letter change counting as
  ``-``. An empty token reads as ``0``. ``a``, ``b`` and ``m`` directly followed by digits
  mean alpha, beta and milestone (``1-a1 == 1-alpha-1``).
- Qualifiers order ``alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
  release < sp``, then any other word alphabetically. ``.qualifier == -qualifier <
  -number < .number`` (so ``1.foo == 1-foo < 1-1 < 1.1``).
- Trailing null items (``0``, ``""``, ``ga``, ``final``, ``release``) are trimmed from the
  end of every hyphen part, which is a ``-``/transition token or a qualifier followed by its
  ``.number`` tokens; an emptied part goes (``1.0.0 == 1 == 1-ga``, ``1-ga-1 == 1-1``).
- The shorter version is padded with nulls. Against ``.number`` the null is ``0``, against
  ``-number`` or a qualifier it is ``""``; since a non-trailing ``.0`` is always followed by a
  non-zero ``.number`` in its part, one fixed pad, the release rank, gives the same verdicts,
  and lexicographic order with a fixed pad is a total order by construction.

Where ComparableVersion 3.8.7 contradicts the specification (``1-0-2``, a word after a dot),
the specification wins; tests/unit/test_versions_reference.py lists those rows.
"""

from __future__ import annotations

import re
from functools import total_ordering

from portcullis.vulndb.versions.base import SortKey, check_text

ECOSYSTEMS = ("Maven",)

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}

# An item's rank: (band, ...). Qualifiers sit in band 0 whatever their separator, then
# -numbers, then .numbers, each band ordered within itself.
_QUALIFIER, _HYPHEN_NUMBER, _DOT_NUMBER = 0, 1, 2
Rank = tuple[int, int, str]
_RELEASE: Rank = (_QUALIFIER, _QUALIFIERS.index(""), "")
_NULLS = frozenset({_RELEASE, (_HYPHEN_NUMBER, 0, ""), (_DOT_NUMBER, 0, "")})

# ASCII digits only: "²".isdigit() is true but Maven reads it as a letter.
_SEPARATED = re.compile(r"[.-]")
_RUNS = re.compile(r"[0-9]+|[^0-9]+")
_DIGITS = frozenset("0123456789")


def _qualifier(word: str, followed_by_digits: bool) -> Rank:
    """Known qualifiers by position, unknown ones after all of them, alphabetically."""
    if followed_by_digits:
        word = _SHORT.get(word, word)
    word = _ALIASES.get(word, word)
    if word in _QUALIFIERS:
        return (_QUALIFIER, _QUALIFIERS.index(word), "")
    return (_QUALIFIER, len(_QUALIFIERS), word)


def _items(text: str) -> list[Rank]:
    """Ranks of the tokens of ``text`` (already lower-cased), in order."""
    pieces = _SEPARATED.split(text)
    separators = [".", *_SEPARATED.findall(text)]
    items: list[Rank] = []
    for separator, piece in zip(separators, pieces, strict=True):
        runs = _RUNS.findall(piece) or ["0"]
        for i, run in enumerate(runs):
            if run[0] in _DIGITS:
                # the first run keeps the piece's separator; a digit/letter change is a hyphen
                band = _DOT_NUMBER if i == 0 and separator == "." else _HYPHEN_NUMBER
                items.append((band, int(run), ""))
            else:
                items.append(_qualifier(run, followed_by_digits=i + 1 < len(runs)))
    return items


def _trimmed(items: list[Rank]) -> tuple[Rank, ...]:
    """Trailing nulls dropped from every hyphen part. A part opens at each item that is not
    a ``.number``: a ``.qualifier`` reads as ``-qualifier``."""
    parts: list[list[Rank]] = []
    for item in items:
        if not parts or item[0] != _DOT_NUMBER:
            parts.append([])
        parts[-1].append(item)
    kept: list[Rank] = []
    for part in parts:
        while part and part[-1] in _NULLS:
            part.pop()
        kept.extend(part)
    return tuple(kept)


@total_ordering
class MavenKey:
    """Trimmed item ranks, compared left to right with missing items read as the release
    rank. Trimming leaves no null at the end, so equal keys have equal items."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Rank, ...]) -> None:
        self.items = items

    def _compare(self, other: MavenKey) -> int:
        mine, theirs = self.items, other.items
        for i in range(max(len(mine), len(theirs))):
            a = mine[i] if i < len(mine) else _RELEASE
            b = theirs[i] if i < len(theirs) else _RELEASE
            if a != b:
                return -1 if a < b else 1
        return 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenKey):
            return NotImplemented
        return self._compare(other) == 0

    def __lt__(self, other: MavenKey) -> bool:
        return self._compare(other) < 0

    def __hash__(self) -> int:
        return hash(self.items)

    def __repr__(self) -> str:
        return f"MavenKey({self.items!r})"


def parse(version: str) -> tuple[Rank, ...]:
    return _trimmed(_items(version.lower()))


class MavenScheme:
    name = "maven"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        return (MavenKey(parse(version)),)


SCHEME = MavenScheme()
