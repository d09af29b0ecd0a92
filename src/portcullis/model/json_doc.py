"""Bounded, typed decoding of the small JSON documents an image is described by.

Manifests, indexes and configs come from the image, so they are hostile input: their size and
bracket depth are checked on the raw bytes before any parser sees them (a 100,000-deep document
would otherwise exhaust the parser's recursion), then msgspec decodes them and checks every
field's shape against a typed record. Any failure is one ``DocumentError`` naming the document
and the field, e.g. ``manifest.json: [0].Layers: expected array, got int``.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from portcullis.errors import DocumentError, LimitExceededError

T = TypeVar("T")

MAX_DEPTH = 64
"""Deepest nesting accepted; real manifests and configs stay under 10."""

MAX_SIZE = 16 << 20
"""Default size bound, the same as ScanLimits.max_metadata_size."""

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_OPEN_CLOSE = bytes.maketrans(b"[]{}", b"()()")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_deeper_than(data: bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit``.

    Works on the bytes with C-speed passes only: drop escapes, then strings, keep the
    brackets, then strip innermost ``()`` pairs once per level. Unbalanced input answers
    False: the parser rejects it with its own message.
    """
    bare = _STRING.sub(b"", _ESCAPE.sub(b"", data))
    parens = bare.translate(_OPEN_CLOSE, _NOT_BRACKET)
    # Shortcuts for the usual shapes: few brackets, or a plain run of openers (an attack).
    if parens.count(b"(") <= limit:
        return False
    if b"(" * (limit + 1) in parens:
        return True
    for _ in range(limit):
        if not parens:
            return False
        inner = parens.replace(b"()", b"")
        if inner == parens:
            return False
        parens = inner
    return b"()" in parens


def decode(data: bytes, where: str, *, max_size: int = MAX_SIZE) -> Any:
    """Any JSON value from ``data``, within the size and depth bounds."""
    if len(data) > max_size:
        raise LimitExceededError("max_metadata_size", max_size, where)
    if nesting_deeper_than(data, MAX_DEPTH):
        raise DocumentError(f"{where}: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise DocumentError(f"{where}: not valid JSON ({_first_line(str(e))})") from e


def convert(doc: Any, kind: type[T], where: str) -> T:
    """``doc`` (decoded JSON) as the typed record ``kind``, or a located DocumentError."""
    try:
        return msgspec.convert(doc, kind)
    except msgspec.ValidationError as e:
        raise DocumentError(f"{where}: {describe(e)}") from e


def describe(error: msgspec.ValidationError) -> str:
    """msgspec's "Expected `array`, got `int` - at `$[0].Layers`" as
    "[0].Layers: expected array, got int"."""
    text = _first_line(str(error)).replace("`", "")
    message, sep, path = text.partition(" - at ")
    message = message[:1].lower() + message[1:]
    if not sep:
        return message
    field = path.removeprefix("$").removeprefix(".") or "(top level)"
    return f"{field}: {message}"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else "unknown error"
