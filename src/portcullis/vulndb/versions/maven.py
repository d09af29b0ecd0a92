"""Maven artifact versions (``ComparableVersion``), as used by the Maven ecosystem.

Hand-written: the reference is Java (maven-artifact's ``ComparableVersion``, Maven 3.8 rules,
before the 3.9 tokenizer change); this follows its algorithm and agrees with maven-artifact
3.8.7 on thousands of generated versions. The version is lower-cased and split at ``.``, at
``-`` and at digit/letter changes into items; ``-`` and a digit/letter change open a nested
list, so ``1-1 < 1.1``; a word after a dot reads as after a hyphen (``1.0.0.x1 < 1.0.0-x2``).
Trailing null items (``0``, ``""``, ``ga``, ``final``, ``release``) are dropped, so ``1 ==
1.0 == 1.0.0 == 1-ga``, and a missing item compares as null (padding with zeros).
Qualifiers order ``alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
release < sp``, then any other word alphabetically; ``a1``, ``b1``, ``m1`` (a letter followed
by digits) mean alpha, beta, milestone. A number beats a word and a nested list; a word
loses to a list.

The key is one comparator object rather than a tuple: the nested-list rules have no flat
encoding that stays readable.
"""

from __future__ import annotations

from functools import total_ordering

from portcullis.vulndb.versions.base import SortKey, check_text

ECOSYSTEMS = ("Maven",)

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE_RANK = _QUALIFIERS.index("")
_DIGITS = frozenset("0123456789")

Item = int | str | list["Item"]


def _qualifier_rank(word: str) -> tuple[int, str]:
    """Known qualifiers by position, unknown ones after all of them, alphabetically."""
    if word in _QUALIFIERS:
        return (_QUALIFIERS.index(word), "")
    return (len(_QUALIFIERS), word)


def _word(text: str, followed_by_digit: bool) -> str:
    if followed_by_digit and len(text) == 1:
        text = _SHORT.get(text, text)
    return _ALIASES.get(text, text)


def _is_null(item: Item) -> bool:
    return item in (0, "", [])


def _normalize(items: list[Item]) -> None:
    """Drop null items from the end, stopping at the first non-null non-list item."""
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


def parse(version: str) -> list[Item]:
    text = version.lower()
    root: list[Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0

    def close_token(end: int, followed_by_digit: bool = False) -> Item:
        token = text[start:end]
        return int(token) if is_digit else _word(token, followed_by_digit)

    for i, c in enumerate(text):
        if c in ".-":
            current.append(0 if i == start else close_token(i))
            start = i + 1
            if c == "-":
                new: list[Item] = []
                current.append(new)
                current = new
                stack.append(current)
        elif c in _DIGITS:  # ASCII only: "²".isdigit() is true
            if not is_digit and i > start:
                if current:
                    # Maven 3.8: a word after a dot reads as after a hyphen (1.0.0.x1 < 1.0.0-x2)
                    new = []
                    current.append(new)
                    current = new
                    stack.append(current)
                current.append(_word(text[start:i], followed_by_digit=True))
                start = i
                new = []
                current.append(new)
                current = new
                stack.append(current)
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(int(text[start:i]))
                start = i
                new = []
                current.append(new)
                current = new
                stack.append(current)
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            # the same rule for a word that ends the version
            new = []
            current.append(new)
            current = new
            stack.append(current)
        current.append(close_token(len(text)))
    for items in reversed(stack):
        _normalize(items)
    return root


def compare(left: Item | None, right: Item | None) -> int:
    """ComparableVersion's Item.compareTo, with None for a missing item."""
    if left is None:
        return 0 if right is None else -compare(right, None)
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return (left > right) - (left < right)
        return 1  # a number beats a word and a list
    if isinstance(left, str):
        if right is None:
            mine = _qualifier_rank(left)
            release = (_RELEASE_RANK, "")
            return (mine > release) - (mine < release)
        if isinstance(right, str):
            a, b = _qualifier_rank(left), _qualifier_rank(right)
            return (a > b) - (a < b)
        return -1  # a word loses to a number and to a list
    if right is None:
        # Maven 3.8 compares every item against null, not just the first (1-ga-rc < 1).
        return next((r for r in (compare(item, None) for item in left) if r), 0)
    if isinstance(right, int):
        return -1
    if isinstance(right, str):
        return 1
    for i in range(max(len(left), len(right))):
        result = compare(left[i] if i < len(left) else None,
                         right[i] if i < len(right) else None)
        if result:
            return result
    return 0


@total_ordering
class MavenKey:
    """Orders parsed versions with ``compare``; equal keys are equal versions."""

    __slots__ = ("items",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, items: list[Item]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenKey):
            return NotImplemented
        return compare(self.items, other.items) == 0

    def __lt__(self, other: MavenKey) -> bool:
        return compare(self.items, other.items) < 0


class MavenScheme:
    name = "maven"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        return (MavenKey(parse(version)),)


SCHEME = MavenScheme()
