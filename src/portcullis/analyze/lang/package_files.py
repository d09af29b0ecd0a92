"""The shape most language analyzers share: packages read from files, one parser per file.

Pick the parser by path, read the captured bytes, parse (a located warning when that fails),
turn what was found into packages, and date each package by its own name@version history in
that file (provenance.restamp). Subclasses say only how to parse and how to build a package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Generic, TypeVar

from portcullis.analyze.base import AnalysisContext, AnalysisResult, AnalyzerSpec, matched_files
from portcullis.analyze.provenance import Named, restamp
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileEntry
from portcullis.model.finding import Warning
from portcullis.model.package import Package

F = TypeVar("F", bound=Named)
Parser = Callable[[bytes], Sequence[F]]


class PackageFiles(Generic[F]):
    spec: ClassVar[AnalyzerSpec]
    describes: ClassVar[str]  # "Python package file": named in warnings
    parse_errors: ClassVar[tuple[type[Exception], ...]] = (ValueError, TypeError)

    def parser(self, path: str) -> Parser[F] | None:
        raise NotImplementedError

    def packages(self, found: Sequence[F], entry: FileEntry, parse: Parser[F]) -> list[Package]:
        raise NotImplementedError

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        for entry in matched_files(fs, self.spec.paths):
            self._analyze_file(fs, entry, result)
        return result

    def _analyze_file(self, fs: Filesystem, entry: FileEntry, result: AnalysisResult) -> None:
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
