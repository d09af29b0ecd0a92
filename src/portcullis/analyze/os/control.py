"""Debian control-file syntax (deb822): the format of dpkg's status DB and of DEP-5 copyright.

A file is a series of paragraphs separated by blank lines; a paragraph is ``Field: value``
lines, where a line that starts with a space or tab continues the previous field. A
continuation line of just ``.`` stands for an empty line. Field names are case-insensitive.
Lenient on purpose: a line that is neither a field nor a continuation is skipped, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec


class Paragraph(msgspec.Struct, frozen=True, kw_only=True):
    """One paragraph. ``fields`` is keyed by the lower-cased field name; ``line`` is the
    1-based line number of its first field."""

    fields: dict[str, str] = msgspec.field(default_factory=dict)
    line: int = 0

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.fields

    def first_line(self, name: str) -> str:
        """The value on the field's own line (for fields whose continuation is free text)."""
        return self.get(name).split("\n", 1)[0].strip()


class _Builder:
    """Values are kept as lists of lines and joined once, when the paragraph ends: appending
    to a growing string would copy it per continuation line (a million of them is a tiny file
    and hours of copying)."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}
        self.line = 0
        self.key: str | None = None

    def reset(self) -> None:
        self.fields = {}
        self.line = 0
        self.key = None

    def add_field(self, key: str, value: str, number: int) -> None:
        if not self.fields:
            self.line = number
        key = key.lower()
        # A repeated field keeps its first value, like dpkg's own parser would reject it;
        # its continuation lines are ignored with it.
        self.key = key if key not in self.fields else None
        self.fields.setdefault(key, [value])

    def add_continuation(self, text: str) -> None:
        if self.key is None:
            return
        body = text.strip()
        self.fields[self.key].append("" if body == "." else body)

    def take(self) -> Paragraph | None:
        paragraph = None
        if self.fields:
            fields = {key: "\n".join(lines) for key, lines in self.fields.items()}
            paragraph = Paragraph(fields=fields, line=self.line)
        self.reset()
        return paragraph


def paragraphs(text: str) -> Iterator[Paragraph]:
    """Every non-empty paragraph of ``text``, in order."""
    return _paragraphs(text.splitlines(), complete=True)


def first_paragraph(text: str, probe: int = 4096) -> Paragraph | None:
    """``next(paragraphs(text), None)`` without splitting all of ``text`` into lines: a
    copyright file's header is its first few lines, the rest (license texts) can be 100 KB.
    The first ``probe`` characters are tried first."""
    if len(text) > probe:
        # Every line of text[:probe] but its last is a line of the whole text (the last may
        # be cut short), so a paragraph that a blank line ends within them is the same.
        found = next(_paragraphs(text[:probe].splitlines()[:-1], complete=False), None)
        if found is not None:
            return found
    return next(paragraphs(text), None)


def _paragraphs(lines: list[str], *, complete: bool) -> Iterator[Paragraph]:
    """The paragraphs of ``lines``; ``complete``: the lines are the whole text, so the last
    paragraph ends with them (else only paragraphs a blank line ends are given)."""
    builder = _Builder()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            if (done := builder.take()) is not None:
                yield done
            continue
        if raw[0] in " \t":
            builder.add_continuation(raw)
            continue
        if raw.startswith("#"):
            continue
        key, sep, value = raw.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            builder.key = None  # a stray line also ends the field it might have continued
            continue
        builder.add_field(key.strip(), value.strip(), number)
    if complete and (done := builder.take()) is not None:
        yield done


def first_lines(text: str, name: str) -> Iterator[str]:
    """``p.first_line(name)`` of every paragraph ``p`` of ``text`` that has the field, in order,
    without assembling any field's continuation lines (a DEP-5 copyright file is mostly
    license text: building its paragraphs was most of the dpkg analyzer's time)."""
    wanted = name.lower()
    given = False  # this paragraph gave its value (a repeated field keeps its first)
    for raw in text.splitlines():
        if raw[:1] in (" ", "\t"):
            if raw.strip():
                continue  # a continuation line
            given = False
            continue
        if not raw.strip():
            given = False
            continue
        if raw.startswith("#"):
            continue
        key, sep, value = raw.partition(":")
        key = key.strip()
        if not sep or not key or " " in key:
            continue
        if not given and key.lower() == wanted:
            given = True
            yield value.strip()


def parse(data: bytes) -> list[Paragraph]:
    """Decode (UTF-8, bad bytes replaced) and split into paragraphs."""
    return list(paragraphs(data.decode("utf-8", "replace")))
