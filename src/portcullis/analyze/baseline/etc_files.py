"""Parsers for the account and policy files under /etc: colon-separated tables
(passwd, shadow, group) and ``KEY value`` settings (login.defs, pwquality.conf)."""

from __future__ import annotations

import msgspec

from portcullis.layers.view import Filesystem
from portcullis.model.files import FileEntry


class Row(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a colon-separated table: its fields and where it is."""

    fields: tuple[str, ...]
    line: int

    def get(self, i: int) -> str:
        return self.fields[i] if i < len(self.fields) else ""

    @property
    def name(self) -> str:
        return self.get(0)


class Table(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    entry: FileEntry
    rows: tuple[Row, ...]


def read_text(fs: Filesystem, path: str) -> tuple[FileEntry, str] | None:
    """A visible file's entry and text (symlinks followed), or None when it is absent or
    was not captured."""
    entry = fs.resolve(path)
    if entry is None or not entry.meta.is_file:
        return None
    data = fs.read_entry(entry)
    if data is None:
        return None
    return entry, data.decode("utf-8", "replace")


def read_table(fs: Filesystem, path: str) -> Table | None:
    found = read_text(fs, path)
    if found is None:
        return None
    entry, text = found
    return Table(path=path, entry=entry, rows=parse_rows(text))


def parse_rows(text: str) -> tuple[Row, ...]:
    return tuple(Row(fields=tuple(line.split(":")), line=n)
                 for n, line in enumerate(text.splitlines(), 1)
                 if line.strip() and not line.lstrip().startswith("#"))


def read_settings(text: str, separator: str | None = None) -> dict[str, tuple[str, int]]:
    """``KEY value`` (or ``key = value`` with ``separator="="``) lines → key → (value, line).
    The last setting of a key wins, as login.defs and libpwquality read them."""
    out: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if separator is not None and separator in line:
            key, _, value = line.partition(separator)
        else:
            key, _, value = line.partition(" ")
        out[key.strip()] = (value.strip(), n)
    return out
