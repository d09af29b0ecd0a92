"""The license category of a package: its SPDX expression against the category table.

An OR offers a choice, so it takes the least strict option; an AND imposes every term, so it
takes the strictest. A package that lists several licenses (a Debian copyright file names the
license of each group of files) is read as their AND: all of them ship. ``WITH`` exceptions
keep the category of the license they qualify. A name that is no SPDX id of the table, or text
that is no expression at all, is ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

import msgspec

from portcullis.analyze.compliance.data import LICENSE_CATEGORIES, shipped
from portcullis.analyze.licenses import MAX_EXPRESSION, _licensing, normalize, spdx_ids
from portcullis.errors import ConfigError
from portcullis.model.compliance import CATEGORIES

STRICTNESS = {name: rank for rank, name in enumerate(reversed(CATEGORIES))}  # permissive 0
_SUFFIX = re.compile(r"(?:\+|-only|-or-later)$", re.IGNORECASE)


@cache
def default_table() -> Mapping[str, str]:
    """Case-folded SPDX id → category, from the shipped table."""
    doc = shipped(LICENSE_CATEGORIES)
    out: dict[str, str] = {}
    try:
        for category, ids in doc["categories"].items():
            if category not in CATEGORIES:
                raise ConfigError(f"{LICENSE_CATEGORIES}: unknown category {category!r}")
            for spdx in ids:
                out[str(spdx).casefold()] = category
    except (KeyError, AttributeError, TypeError) as e:
        raise ConfigError(f"shipped {LICENSE_CATEGORIES} is malformed: {e}") from e
    return out


class Categorizer:
    """Categories of license ids and expressions under the shipped table and a policy's
    per-license overrides."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self._table = dict(default_table())
        self._table.update({k.casefold(): v for k, v in (overrides or {}).items()})
        self._judged: dict[str, Judged] = {}  # packages share a few dozen expressions

    def of_id(self, spdx: str) -> str:
        for name in (spdx, normalize(spdx)):
            key = name.strip().casefold()
            found = self._table.get(key) or self._table.get(_SUFFIX.sub("", key))
            if found is not None:
                return found
        return "unknown"

    def of_expression(self, text: str) -> Judged:
        judged = self._judged.get(text)
        if judged is None:
            judged = self._judged[text] = self._judge(text)
        return judged

    def _judge(self, text: str) -> Judged:
        if len(text) > MAX_EXPRESSION:
            return Judged("unknown", frozenset({text[:80] + "..."}))
        direct = self._table.get(text.strip().casefold())
        if direct is not None:  # a policy may name a whole expression or a LicenseRef
            return Judged(direct, frozenset())
        key = single_license(text)
        if key == REFUSED:
            return Judged("unknown", frozenset({text}))
        if key is not None:
            return self._symbol(key)
        return self._parsed(text)

    def _parsed(self, text: str) -> Judged:
        """``text`` through license-expression's parser."""
        try:
            parsed = _licensing().parse(text, validate=False, simple=False)
        except Exception:  # untrusted text into a third-party parser: "MIT AND" raises
            parsed = None
        if parsed is None:
            return Judged("unknown", frozenset({text}))
        return self._walk(parsed)

    def of_licenses(self, licenses: Iterable[str]) -> Judged:
        """Several licenses of one package: their AND."""
        return _all_of([self.of_expression(text) for text in licenses])

    def _walk(self, node: object) -> Judged:
        from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

        if isinstance(node, LicenseWithExceptionSymbol):
            return self._symbol(str(node.license_symbol.key))
        if isinstance(node, LicenseSymbol):
            return self._symbol(str(node.key))
        if isinstance(node, OR):
            return _one_of([self._walk(arg) for arg in node.args])
        if isinstance(node, AND):
            return _all_of([self._walk(arg) for arg in node.args])
        return Judged("unknown", frozenset({str(node)}))

    def _symbol(self, name: str) -> Judged:
        category = self.of_id(name)
        return Judged(category, frozenset({name}) if category == "unknown" else frozenset())


# Longer runs of words go to the parser (checking every run of words is quadratic).
_MAX_WORDS = 12
# The parser's test for the text of a symbol it does not know; other text it refuses.
_VALID_KEY = re.compile(r"^[-:\w\s.+]+$")
REFUSED = ""  # single_license's answer for text the parser refuses


def single_license(text: str) -> str | None:
    """What license-expression's parser (``parse(validate=False)``) makes of ``text`` when
    that is one license symbol, or ``<license> WITH <exception>``: the key of the (left)
    symbol, or ``REFUSED`` when the parser refuses the text. None when only the parser can
    tell (AND/OR, parentheses, several WITH, long text).

    How the parser reads it: it splits the lower-cased text into words at whitespace and
    parentheses and matches runs of whole words against the ids and aliases of
    ``spdx_ids()``. A run that is one known id becomes that symbol; a run of unknown words
    becomes one symbol with the words as written (when they are valid key characters, else it
    refuses); a known id beside other words is two symbols without an operator, which it
    refuses. Most package licenses are one symbol ("GPL-2.0-or-later", DEP-5's "permissive" or
    "GPL-3+ with Bison exception"), and the parser costs ~80 ms to load.
    tests/unit/test_compliance_licenses_table.py holds this to the parser's answers."""
    lowered = text.lower()
    # The parser cuts a symbol's text out of the input by positions in its lower-cased
    # form: a character whose lower case is longer ("İ") shifts them.
    if "(" in text or ")" in text or text != " ".join(text.split()) \
            or len(lowered) != len(text):
        return None
    words = lowered.split(" ")
    if not text or len(words) > _MAX_WORDS or "and" in words or "or" in words:
        return None
    written = text.split(" ")
    if "with" not in words:
        return _symbol_key(written, words)
    at = words.index("with")
    if "with" in words[at + 1:] or at == 0 or at == len(words) - 1:
        return None
    if _symbol_key(written[at + 1:], words[at + 1:]) == REFUSED:
        return REFUSED
    return _symbol_key(written[:at], words[:at])


def _symbol_key(written: list[str], words: list[str]) -> str:
    """A run of words as the parser reads it: a known id → the id; unknown words → the words
    as written; anything else → ``REFUSED``."""
    ids = spdx_ids()
    whole = ids.get(" ".join(words))
    if whole is not None:
        return whole[0]
    for start in range(len(words)):
        for end in range(start + 1, len(words) + 1):
            if " ".join(words[start:end]) in ids:
                return REFUSED
    key = " ".join(written)
    return key if _VALID_KEY.match(key) else REFUSED


class Judged(msgspec.Struct, frozen=True):
    """A category, and the license names it could not place that still matter (an unknown
    term of an AND; an OR with a known option drops its unknown ones)."""

    category: str
    unknown: frozenset[str]


def _all_of(parts: list[Judged]) -> Judged:
    if not parts:
        return Judged("unknown", frozenset())
    return Judged(strictest(p.category for p in parts),
                  frozenset().union(*(p.unknown for p in parts)))


def _one_of(parts: list[Judged]) -> Judged:
    known = [p for p in parts if not p.unknown]
    if known:
        return Judged(least_strict(p.category for p in known), frozenset())
    return Judged(least_strict(p.category for p in parts),
                  frozenset().union(*(p.unknown for p in parts)))


def strictest(categories: Iterable[str]) -> str:
    return max(categories, key=STRICTNESS.__getitem__, default="unknown")


def least_strict(categories: Iterable[str]) -> str:
    return min(categories, key=STRICTNESS.__getitem__, default="unknown")
