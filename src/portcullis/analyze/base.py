"""The analyzer protocols (DESIGN.md §3-4)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import msgspec

from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.layers.view import Filesystem
from portcullis.limits import ScanLimits
from portcullis.model.baseline import BaselineResult
from portcullis.model.distro import Distro
from portcullis.model.files import FileEntry, FileMeta
from portcullis.model.finding import Finding, Warning
from portcullis.model.image import ImageInfo
from portcullis.model.package import Package
from portcullis.model.report import BaseImageInfo, LayerTotals

if TYPE_CHECKING:  # imported by the compliance analyzers and scan.py when compliance runs
    from portcullis.model.compliance import ComplianceSettings

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
    # Baseline findings say whether the base image brought them (from_base_image).
    "baseline": frozenset({"base-image", "packages"}),
}


def expand_scanners(requested: frozenset[str]) -> frozenset[str]:
    out = set(requested)
    for name in requested:
        out |= SCANNER_NEEDS.get(name, frozenset())
    return frozenset(out)


STAGE_ENVIRONMENT = 0  # OS detection: other analyzers read ctx.distro
STAGE_INVENTORY = 1  # packages
STAGE_CHECKS = 2  # baseline, compliance, base image: may read the inventory


class AnalyzerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Identity of an analyzer. ``name`` is stable kebab-case; bump ``version`` when output
    changes (it is part of cache keys). ``paths`` are fnmatch globs over absolute image paths:
    for a tree analyzer, the files to capture; for a file analyzer, the files to be shown
    (empty: every regular file, subject to ``accepts``). ``max_file_size`` is the largest file a
    file analyzer is fed; a larger one it accepts is reported as a located warning."""

    name: str
    version: int
    scanners: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()
    max_file_size: int | None = None
    stage: int = STAGE_CHECKS


class AnalysisResult(msgspec.Struct):
    """What an analyzer hands on. Typed fields only: no string-keyed bags between stages."""

    packages: list[Package] = msgspec.field(default_factory=list)
    findings: list[Finding] = msgspec.field(default_factory=list)
    warnings: list[Warning] = msgspec.field(default_factory=list)
    distro: Distro | None = None
    # analyzer name → the paths its package database says the package manager installed
    owned_paths: dict[str, frozenset[str]] = msgspec.field(default_factory=dict)
    layer_totals: tuple[LayerTotals, ...] | None = None
    wasted_bytes: int | None = None
    base_image: BaseImageInfo | None = None
    baselines: list[BaselineResult] = msgspec.field(default_factory=list)
    os_eol: bool | None = None  # the OS release is past its end of life (compliance scanner)

    def merge(self, other: AnalysisResult) -> None:
        self.packages.extend(other.packages)
        self.findings.extend(other.findings)
        self.warnings.extend(other.warnings)
        self.owned_paths.update(other.owned_paths)
        if other.distro is not None and self.distro is None:
            self.distro = other.distro
        if other.layer_totals is not None:
            self.layer_totals = other.layer_totals
        if other.wasted_bytes is not None:
            self.wasted_bytes = other.wasted_bytes
        if other.base_image is not None:
            self.base_image = other.base_image
        self.baselines.extend(other.baselines)
        if other.os_eol is not None:
            self.os_eol = other.os_eol


class CheckSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the user tells the baseline checks (``--password-dictionary``,
    ``--password-budget``)."""

    password_dictionary: Path | None = None
    password_budget: float = 60.0  # seconds of wall time for the weak-password check


class AnalyzerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the user configured for the analyzers that take configuration (files named on
    the command line). Loaded and checked before the scan starts: a bad file is an error then."""

    secret_config: Path | None = None  # --secret-config: extra rules and allow rules


class AnalysisContext(msgspec.Struct):
    """What analyzers may know besides the files. No global state: all of it is here."""

    image: ImageInfo
    limits: ScanLimits
    now: datetime
    settings: AnalyzerSettings = msgspec.field(default_factory=AnalyzerSettings)
    distro: Distro | None = None
    packages: list[Package] = msgspec.field(default_factory=list)
    checks: CheckSettings = msgspec.field(default_factory=CheckSettings)
    compliance: ComplianceSettings | None = None  # None: the default policy and data
    malware: MalwareSettings = msgspec.field(default_factory=MalwareSettings)


def matched_files(fs: Filesystem, patterns: Iterable[str]) -> list[FileEntry]:
    """Visible regular files matching any of ``patterns`` (fnmatch globs), once each, by path."""
    entries: dict[str, FileEntry] = {}
    for pattern in patterns:
        for entry in fs.glob(pattern):
            if entry.meta.is_file:
                entries.setdefault(entry.path, entry)
    return [entries[path] for path in sorted(entries)]


class FileScan(Protocol):
    """One file being read: ``update`` gets its bytes in order, in chunks of any size (copy a
    chunk to keep it), then ``finish`` once, after the last byte."""

    def update(self, chunk: bytes) -> None: ...

    def finish(self) -> AnalysisResult: ...


@runtime_checkable
class FileAnalyzer(Protocol):
    """Sees each accepted regular file of each layer once, during the layer pass, as a stream:
    several analyzers are fed from one read, so a file of any size costs constant memory.
    Versions that a later layer deletes or overwrites are seen too (their bytes ship)."""

    spec: ClassVar[AnalyzerSpec]

    def accepts(self, meta: FileMeta) -> bool: ...

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None: ...


class _WholeFile:
    """Collects a file for an analyzer that needs all of it at once."""

    def __init__(self, analyzer: WholeFileAnalyzer, meta: FileMeta, layer: int,
                 ctx: AnalysisContext) -> None:
        self._analyzer = analyzer
        self._meta = meta
        self._layer = layer
        self._ctx = ctx
        self._parts: list[bytes] = []

    def update(self, chunk: bytes) -> None:
        self._parts.append(bytes(chunk))

    def finish(self) -> AnalysisResult:
        data = b"".join(self._parts)
        self._parts.clear()
        return self._analyzer.analyze_file(self._meta, data, self._layer, self._ctx)


class WholeFileAnalyzer(ABC):
    """Base for file analyzers that parse a whole file (an ELF section table, a zip directory).
    The engine only feeds files up to ``spec.max_file_size``, which such an analyzer must set:
    that is its memory bound."""

    spec: ClassVar[AnalyzerSpec]

    @abstractmethod
    def accepts(self, meta: FileMeta) -> bool: ...

    @abstractmethod
    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult: ...

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        return _WholeFile(self, meta, layer, ctx)


@runtime_checkable
class TreeAnalyzer(Protocol):
    """Runs once on the squashed view, after every layer was read."""

    spec: ClassVar[AnalyzerSpec]

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult: ...
