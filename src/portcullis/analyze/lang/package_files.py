"""The shape most language analyzers share: packages read from files, one parser per file.

Pick the parser by path, read the captured bytes, parse (a located warning when that fails),
turn what was found into packages, and date each package by its own name@version history in
that file (provenance.restamp). Subclasses say only how to parse, what kind of file a parser
reads (``origin``), how the ecosystem names a package (``purl``) and when two entries are the
same package (``identity``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, ClassVar

import msgspec

from portcullis.analyze.base import AnalysisContext, AnalysisResult, AnalyzerSpec, matched_files
from portcullis.analyze.guard import one_file
from portcullis.analyze.provenance import restamp
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileEntry, Location
from portcullis.model.finding import Warning
from portcullis.model.package import Package


class ParseError(ValueError):
    """A file that is not what its name promises."""


class Found(msgspec.Struct, frozen=True):
    """One package as a file lists it, before it becomes a Package."""

    name: str
    version: str
    licenses: tuple[str, ...] = ()
    line: int | None = None
    properties: tuple[tuple[str, str], ...] = ()


class Origin(msgspec.Struct, frozen=True):
    """The kind of file that listed a package: its ``found_by`` and the properties saying so
    (``source=lockfile`` for what an application declares rather than what is installed)."""

    found_by: str
    properties: tuple[tuple[str, str], ...] = ()
    declared: bool = False  # a lock or requirements file: see analyze/declared.py


Parser = Callable[[bytes], Sequence[Found]]


def load_json(data: bytes) -> Any:
    """``json.loads`` whose failures are all ParseErrors: a document nested deeper than the
    parser's recursion limit raises RecursionError, which is not a ValueError."""
    try:
        return json.loads(data)
    except RecursionError as e:
        raise ParseError("JSON nested too deeply") from e


def toml_package_tables(data: bytes) -> list[dict[str, Any]]:
    """The ``[[package]]`` tables of a TOML lock file (poetry.lock, uv.lock, Cargo.lock)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ParseError(f"not UTF-8: {e}") from e
    except RecursionError as e:  # tomllib recurses on nested arrays and inline tables
        raise ParseError("TOML nested too deeply") from e
    packages = doc.get("package", [])
    if not isinstance(packages, list):
        raise ParseError("'package' is not an array of tables")
    return [item for item in packages if isinstance(item, dict)]


def named(item: dict[str, Any]) -> tuple[str, str] | None:
    """``name`` and ``version`` of a lock file entry, when both are non-empty strings."""
    name, version = item.get("name"), item.get("version")
    if isinstance(name, str) and isinstance(version, str) and name and version:
        return name, version
    return None


def name_version(item: Found) -> Hashable:
    return (item.name, item.version)


def to_packages(found: Iterable[Found], *, path: str, layer: int | None,
                introduced_in: int | None, package_type: str,
                purl: Callable[[str, str], str], origin: Origin,
                identity: Callable[[Found], Hashable] = name_version) -> list[Package]:
    """One package per distinct identity, in the order the file lists them."""
    seen: set[Hashable] = set()
    packages: list[Package] = []
    for item in found:
        key = identity(item)
        if key in seen:
            continue
        seen.add(key)
        packages.append(Package(
            name=item.name,
            version=item.version,
            type=package_type,
            purl=purl(item.name, item.version),
            locations=(Location(path=path, layer=layer, line=item.line),),
            introduced_in=introduced_in,
            found_by=origin.found_by,
            declared=origin.declared,
            licenses=item.licenses,
            properties={**dict(origin.properties), **dict(item.properties)},
        ))
    return packages


class PackageFiles:
    spec: ClassVar[AnalyzerSpec]
    describes: ClassVar[str]  # "Python package file": named in warnings
    package_type: ClassVar[str]  # Package.type
    parse_errors: ClassVar[tuple[type[Exception], ...]] = (ValueError, TypeError)

    def parser(self, path: str) -> Parser | None:
        raise NotImplementedError

    def origin(self, parse: Parser) -> Origin:
        raise NotImplementedError

    def purl(self, name: str, version: str) -> str:
        raise NotImplementedError

    def identity(self, item: Found) -> Hashable:
        """Entries with the same identity are one package (the first one listed wins)."""
        return name_version(item)

    def packages(self, found: Sequence[Found], entry: FileEntry, parse: Parser) -> list[Package]:
        return to_packages(found, path=entry.path, layer=entry.layer,
                           introduced_in=entry.introduced_in, package_type=self.package_type,
                           purl=self.purl, origin=self.origin(parse), identity=self.identity)

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        for entry in matched_files(fs, self.spec.paths):
            with one_file(result, entry, self.spec.name, self.describes) as found:
                self._analyze_file(fs, entry, found)
        return result

    def _analyze_file(self, fs: Filesystem, entry: FileEntry, result: AnalysisResult) -> None:
        """A parse error the parser declares is a plain warning; anything else it raises
        is caught by ``one_file`` (see guard.py), also as a warning with the file's path."""
        parse = self.parser(entry.path)
        if parse is None:
            return
        data = fs.read_entry(entry)
        if data is None:
            return
        try:
            found = parse(data)
        except self.parse_errors as e:
            result.warnings.append(Warning(
                message=f"cannot parse {self.describes}: {e}", path=entry.path,
                layer=entry.layer, analyzer=self.spec.name))
            return
        result.packages.extend(restamp(fs, entry, self.packages(found, entry, parse), parse))
