"""End-of-life dates of OS releases and language runtimes: the data and its parsing.

The document (``portcullis/data/eol.json``, or the file ``db update --eol-source`` fetched)::

    {"schema": 1, "updated": "2026-12-01",
     "products": {"debian": {"kind": "os", "title": "Debian", "source": URL,
                             "cycles": [{"cycle": "12", "eol": "2026-06-10",
                                         "extended": "2028-06-30", "codename": "bookworm"}]}}}

``eol`` is the end of free security support, ``extended`` a later end of free extended
support (Debian LTS), both ``YYYY-MM-DD`` or ``YYYY-MM`` (a project that publishes only a month
means the end of that month); ``eol`` null means no end is announced yet. OS products are keyed
by the distro family names of ``analyze/os_release.py``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from portcullis.errors import ConfigError

SCHEMA = 1
KINDS = ("os", "runtime")
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class Cycle(msgspec.Struct, frozen=True, kw_only=True):
    cycle: str  # "12", "3.11", "1.22"
    eol: date | None
    extended: date | None = None
    codename: str | None = None
    eol_text: str | None = None  # as the file writes it ("2027-10")
    extended_text: str | None = None

    def matches(self, version: str) -> bool:
        """``12`` matches 12 and 12.5; ``3.1`` matches 3.1.4 but not 3.11."""
        return version == self.cycle or version.startswith(self.cycle + ".")


class Product(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str
    title: str
    source: str
    cycles: tuple[Cycle, ...]

    def cycle_of(self, version: str) -> Cycle | None:
        """The longest cycle ``version`` belongs to (``3.11`` before ``3``)."""
        found = [c for c in self.cycles if c.matches(version)]
        return max(found, key=lambda c: len(c.cycle)) if found else None

    def predated(self, version: str) -> Cycle | None:
        """The oldest dated cycle, when ``version`` is older still (Debian 6, Alpine 3.9:
        releases too old for the table, ended before the oldest one listed)."""
        dated = [(n, c) for c in self.cycles
                 if c.eol is not None and (n := _numbers(c.cycle)) is not None]
        if not dated:
            return None
        oldest_numbers, oldest = min(dated, key=lambda item: item[0])
        mine = _numbers(".".join(version.split(".")[:len(oldest_numbers)]))
        return oldest if mine is not None and mine < oldest_numbers else None


def _numbers(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


class EolTable(msgspec.Struct, frozen=True, kw_only=True):
    updated: str | None
    products: Mapping[str, Product]
    origin: str  # the file it was read from, for messages

    @classmethod
    def from_document(cls, doc: Any, origin: str) -> EolTable:
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{origin}: end-of-life data is not a JSON object")
        if doc.get("schema") != SCHEMA:
            raise ConfigError(f"{origin}: end-of-life data schema {doc.get('schema')!r} "
                              f"(this version reads {SCHEMA})")
        products = doc.get("products")
        if not isinstance(products, Mapping) or not products:
            raise ConfigError(f"{origin}: end-of-life data has no products")
        updated = doc.get("updated")
        return cls(updated=updated if isinstance(updated, str) else None, origin=origin,
                   products={name: _product(name, body, f"{origin}: {name}")
                             for name, body in products.items()})


def parse_date(text: str, where: str) -> date:
    """``2026-06-10`` → that day; ``2027-10`` → the last day of that month."""
    match = _DATE.match(text)
    if match is None:
        raise ConfigError(f"{where}: date {text!r} is not YYYY-MM-DD or YYYY-MM")
    year, month = int(match[1]), int(match[2])
    try:
        day = int(match[3]) if match[3] else calendar.monthrange(year, month)[1]
        return date(year, month, day)
    except (ValueError, calendar.IllegalMonthError) as e:
        raise ConfigError(f"{where}: date {text!r}: {e}") from e


def _product(name: str, body: Any, where: str) -> Product:
    if not isinstance(body, Mapping):
        raise ConfigError(f"{where}: not an object")
    kind = body.get("kind")
    source = body.get("source")
    cycles = body.get("cycles")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if not isinstance(source, str) or not source:
        raise ConfigError(f"{where}: needs a source URL")
    if not isinstance(cycles, list) or not cycles:
        raise ConfigError(f"{where}: needs a list of cycles")
    title = body.get("title")
    return Product(name=name, kind=str(kind), title=title if isinstance(title, str) else name,
                   source=source, cycles=tuple(_cycle(c, where) for c in cycles))


def _cycle(body: Any, where: str) -> Cycle:
    if not isinstance(body, Mapping) or not isinstance(body.get("cycle"), str):
        raise ConfigError(f"{where}: each cycle needs a \"cycle\" string")
    name = body["cycle"]
    texts: dict[str, str | None] = {}
    for key in ("eol", "extended", "codename"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where} {name}: {key} must be a string or null")
        texts[key] = value
    eol, extended = texts["eol"], texts["extended"]
    return Cycle(cycle=name, codename=texts["codename"], eol_text=eol, extended_text=extended,
                 eol=parse_date(eol, f"{where} {name}") if eol else None,
                 extended=parse_date(extended, f"{where} {name}") if extended else None)
