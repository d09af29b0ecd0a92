"""The analyzer protocols (DESIGN.md §3-4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from portcullis.layers.view import Filesystem
from portcullis.limits import ScanLimits
from portcullis.model.distro import Distro
from portcullis.model.files import FileEntry, FileMeta
from portcullis.model.finding import Finding, Warning
from portcullis.model.image import ImageInfo
from portcullis.model.package import Package

# Every scan item of CONTRACT.md §3. An analyzer serves one or more of them; analyzers that
# serve none (OS detection) always run, because the others depend on them.
SCANNERS = ("vuln", "secret", "malware", "baseline", "compliance", "packages", "files",
            "base-image")

# Scanners that work on what other scanners find: asking for vulnerabilities means the
# package inventory must be built even when "packages" itself was not requested.
SCANNER_NEEDS: dict[str, frozenset[str]] = {
    "vuln": frozenset({"packages"}),
    "compliance": frozenset({"packages"}),
    "base-image": frozenset({"packages"}),
}


def expand_scanners(requested: frozenset[str]) -> frozenset[str]:
    out = set(requested)
    for name in requested:
        out |= SCANNER_NEEDS.get(name, frozenset())
    return frozenset(out)


STAGE_ENVIRONMENT = 0  # OS detection: other analyzers read ctx.distro
STAGE_INVENTORY = 1  # packages
STAGE_CHECKS = 2  # baseline, compliance, base image: may read the inventory


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyzerSpec:
    """Identity of an analyzer. ``name`` is stable kebab-case; bump ``version`` when output
    changes (it is part of cache keys). ``paths`` are fnmatch globs over absolute image paths:
    for a tree analyzer, the files to capture; for a file analyzer, the files to be shown."""

    name: str
    version: int
    kind: str  # "file" or "tree"
    scanners: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()
    max_file_size: int | None = None
    stage: int = STAGE_CHECKS
    tags: frozenset[str] = frozenset()


@dataclass
class AnalysisResult:
    packages: list[Package] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    distro: Distro | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: AnalysisResult) -> None:
        self.packages.extend(other.packages)
        self.findings.extend(other.findings)
        self.warnings.extend(other.warnings)
        self.facts.update(other.facts)
        if other.distro is not None and self.distro is None:
            self.distro = other.distro


@dataclass
class AnalysisContext:
    """What analyzers may know besides the files. No global state: all of it is here."""

    image: ImageInfo
    limits: ScanLimits
    now: datetime
    distro: Distro | None = None
    packages: list[Package] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def matched_files(fs: Filesystem, patterns: Iterable[str]) -> list[FileEntry]:
    """Visible regular files matching any of ``patterns`` (fnmatch globs), once each, by path."""
    entries: dict[str, FileEntry] = {}
    for pattern in patterns:
        for entry in fs.glob(pattern):
            if entry.meta.is_file:
                entries.setdefault(entry.path, entry)
    return [entries[path] for path in sorted(entries)]


@runtime_checkable
class FileAnalyzer(Protocol):
    """Sees each accepted regular file once, during the layer pass."""

    spec: ClassVar[AnalyzerSpec]

    def accepts(self, meta: FileMeta) -> bool: ...

    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult: ...


@runtime_checkable
class TreeAnalyzer(Protocol):
    """Runs once on the squashed view, after every layer was read."""

    spec: ClassVar[AnalyzerSpec]

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult: ...
