"""Alpine, Wolfi and Chainguard packages: apk's installed DB (/lib/apk/db/installed).

The DB is a series of records separated by blank lines; each line is ``<letter>:<value>``
(P name, V version, A arch, o origin, L license, m maintainer, t build time, c commit,
F a directory and R a file inside the last F). A record without P or V is skipped with a
located warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar, TypeAlias

import msgspec
from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
)
from portcullis.analyze.guard import one_file
from portcullis.analyze.provenance import first_layers
from portcullis.layers.view import Filesystem
from portcullis.model.distro import Distro
from portcullis.model.files import FileEntry, Location, normalize
from portcullis.model.finding import Warning
from portcullis.model.package import Package

INSTALLED = "/lib/apk/db/installed"

# Distro families that install apks, and so name the purl namespace.
APK_FAMILIES = frozenset({"alpine", "wolfi", "chainguard"})

Key = tuple[str, str]  # (name, version)


# --- the installed DB ------------------------------------------------------------------------


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One record of the DB, as written (fields may be missing)."""

    fields: dict[str, str] = msgspec.field(default_factory=dict)
    files: tuple[str, ...] = ()
    line: int = 0

    @property
    def name(self) -> str:
        return self.fields.get("P", "")

    @property
    def version(self) -> str:
        return self.fields.get("V", "")

    @property
    def key(self) -> Key:
        return (self.name, self.version)


class _Builder:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.files: list[str] = []
        self.directory = ""
        self.line = 0

    def reset(self) -> None:
        self.fields = {}
        self.files = []
        self.directory = ""
        self.line = 0

    def add(self, letter: str, value: str, number: int) -> None:
        if not self.line:
            self.line = number
        if letter == "F":
            self.directory = value.strip("/")
        elif letter == "R":
            self.files.append(normalize(f"{self.directory}/{value}"))
        else:
            self.fields.setdefault(letter, value)  # repeated letters: keep the first

    def take(self) -> Record | None:
        record = None
        if self.line:
            record = Record(fields=self.fields, files=tuple(self.files), line=self.line)
        self.reset()
        return record


def records(data: bytes) -> Iterator[Record]:
    """Every record of the DB, complete or not, in file order."""
    builder = _Builder()
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            if (done := builder.take()) is not None:
                yield done
            continue
        letter, sep, value = line.partition(":")
        if sep and len(letter) == 1:
            builder.add(letter, value.strip(), number)
    if (done := builder.take()) is not None:
        yield done


def _keys(data: bytes) -> list[Key]:
    return [r.key for r in records(data) if r.name and r.version]


# --- licenses ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_OPERATORS = {"AND", "OR", "WITH"}

Node: TypeAlias = "str | list[Node]"


_MAX_NESTING = 32  # parentheses deeper than this are ignored: no license needs more


def _group(tokens: list[str]) -> list[Node]:
    """Nest parenthesised runs: ``( a OR b ) AND c`` → [[a, OR, b], AND, c]. Operators are
    upper-cased; unbalanced parentheses are tolerated (a stray ``)`` is dropped)."""
    stack: list[list[Node]] = [[]]
    for token in tokens:
        if token == "(" and len(stack) <= _MAX_NESTING:
            inner: list[Node] = []
            stack[-1].append(inner)
            stack.append(inner)
        elif token == ")" and len(stack) > 1:
            stack.pop()
        elif token not in "()":
            stack[-1].append(token.upper() if token.upper() in _OPERATORS else token)
    return stack[0]


def _render(items: list[Node]) -> str:
    return " ".join(f"({_render(item)})" if isinstance(item, list) else item for item in items)


def _terms(items: list[Node]) -> list[str]:
    """Split on top-level AND (and on plain adjacency, the old space-separated form); a
    top-level OR makes the whole thing one choice, kept as one expression."""
    if "OR" in items:
        return [_render(items)]
    terms: list[str] = []
    current: list[Node] = []
    for item in items:
        if item == "AND":
            terms.extend(_close(current))
            current = []
        elif current and item != "WITH" and current[-1] != "WITH":
            terms.extend(_close(current))
            current = [item]
        else:
            current.append(item)
    terms.extend(_close(current))
    return terms


def _close(term: list[Node]) -> list[str]:
    if len(term) == 1 and isinstance(term[0], list):
        return _terms(term[0])  # a parenthesised group: split it the same way
    return [_render(term)] if term else []


def split_licenses(text: str) -> tuple[str, ...]:
    """apk's ``L:`` value as one string per license that applies: ``MIT BSD-2-Clause`` →
    two, ``MPL-2.0 AND MIT`` → two, ``( Apache-2.0 OR MIT ) AND MPL-2.0`` →
    ``Apache-2.0 OR MIT`` and ``MPL-2.0``. Names are kept as written."""
    tree = _group(_TOKEN.findall(text))
    seen: dict[str, None] = {}
    for term in _terms(tree):
        seen.setdefault(term, None)
    return tuple(seen)


# --- packages --------------------------------------------------------------------------------


def purl(record: Record, distro: Distro | None) -> str:
    known = distro is not None and distro.family in APK_FAMILIES
    namespace = distro.family if distro is not None and known else "alpine"
    qualifiers: dict[str, str] = {}
    if arch := record.fields.get("A"):
        qualifiers["arch"] = arch
    release = (distro.version or distro.version_codename) if distro is not None else None
    if known and release:
        qualifiers["distro"] = f"{namespace}-{release}"
    origin = record.fields.get("o")
    if origin and origin != record.name:
        qualifiers["upstream"] = origin
    return PackageURL(type="apk", namespace=namespace, name=record.name,
                      version=record.version, qualifiers=qualifiers).to_string()


_PROPERTIES = {"A": "arch", "m": "maintainer", "t": "build_time", "c": "commit"}


def _package(record: Record, db: FileEntry, introduced: dict[Key, int],
             distro: Distro | None) -> Package:
    properties = {name: record.fields[letter] for letter, name in _PROPERTIES.items()
                  if record.fields.get(letter)}
    properties["files"] = str(len(record.files))
    return Package(
        name=record.name,
        version=record.version,
        type="apk",
        purl=purl(record, distro),
        locations=(Location(path=db.path, layer=db.layer, line=record.line),),
        introduced_in=introduced.get(record.key, db.layer),
        found_by="apk",
        source_name=record.fields.get("o") or record.name,
        source_version=record.version,
        licenses=split_licenses(record.fields.get("L", "")),
        properties=properties,
    )


class Apk:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="apk",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(INSTALLED,),
        stage=STAGE_INVENTORY,
    )

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        db = fs.resolve(INSTALLED)
        if db is None or not db.meta.is_file:
            return result
        data = fs.read_entry(db)
        if data is None:
            result.warnings.append(self._warning("package DB could not be read", db))
            return result
        with one_file(result, db, self.spec.name, "apk database") as found:
            self._read(fs, db, data, found, ctx.distro)
        return result

    def _read(self, fs: Filesystem, db: FileEntry, data: bytes, result: AnalysisResult,
              distro: Distro | None) -> None:
        introduced = first_layers(fs, [db.path], _keys)
        seen: set[Key] = set()
        owned: set[str] = set()
        for record in records(data):
            if not record.name or not record.version:
                result.warnings.append(self._warning(_incomplete(record), db))
                continue
            owned.update(record.files)
            if record.key not in seen:
                seen.add(record.key)
                result.packages.append(_package(record, db, introduced, distro))
        result.packages.sort(key=lambda p: (p.sort_key(), p.purl or ""))
        result.owned_paths[self.spec.name] = frozenset(owned)

    def _warning(self, message: str, db: FileEntry) -> Warning:
        return Warning(message=message, path=db.path, layer=db.layer, analyzer=self.spec.name)


def _incomplete(record: Record) -> str:
    missing = " and ".join(n for n, v in (("P (name)", record.name),
                                           ("V (version)", record.version)) if not v)
    label = f" {record.name}" if record.name else ""
    return f"apk record{label} at line {record.line} has no {missing}; skipped"
