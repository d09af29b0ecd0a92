"""Drive the analyzers: one streaming pass per layer, then the tree analyzers on the view."""

from __future__ import annotations

import fnmatch
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    FileAnalyzer,
    TreeAnalyzer,
)
from portcullis.analyze.declared import merge_declared
from portcullis.analyze.licenses import normalize_all
from portcullis.analyze.ownership import drop_os_owned
from portcullis.errors import LimitExceededError, PortcullisError
from portcullis.layers.content import ContentStore
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.layers.view import SquashedView
from portcullis.limits import ScanLimits
from portcullis.model.blob import Image
from portcullis.model.files import FileMeta
from portcullis.model.finding import Warning
from portcullis.progress import NullProgress, Progress

log = logging.getLogger(__name__)


@dataclass
class ScannerStatus:
    status: str = "ok"  # ok, failed, skipped
    message: str | None = None
    seconds: float = 0.0


@dataclass
class EngineResult:
    view: SquashedView
    result: AnalysisResult
    statuses: dict[str, ScannerStatus] = field(default_factory=dict)


def _compile(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in sorted(set(patterns))))


class _Sink:
    """Decides, per tar entry, whether its bytes are needed, and hands them out."""

    def __init__(
        self,
        file_analyzers: Sequence[FileAnalyzer],
        capture: Sequence[str],
        content: ContentStore,
        ctx: AnalysisContext,
        collected: AnalysisResult,
        timings: dict[str, float],
    ) -> None:
        self._capture = _compile(capture)
        self._file_analyzers = [(a, _compile(a.spec.paths)) for a in file_analyzers]
        self._content = content
        self._ctx = ctx
        self._collected = collected
        self._timings = timings
        self._decided: tuple[FileMeta | None, bool, list[FileAnalyzer]] = (None, False, [])

    def _interested(self, meta: FileMeta) -> list[FileAnalyzer]:
        out = []
        for analyzer, pattern in self._file_analyzers:
            limit = analyzer.spec.max_file_size
            if limit is not None and meta.size > limit:
                continue
            if pattern is not None and not pattern.match(meta.path):
                continue
            if analyzer.accepts(meta):
                out.append(analyzer)
        return out

    def wants(self, meta: FileMeta) -> bool:
        capture = self._capture is not None and self._capture.match(meta.path) is not None
        analyzers = self._interested(meta)
        # The layer pass calls content() right after wants() for the same entry: keep the
        # decision instead of matching every pattern and asking every analyzer twice.
        self._decided = (meta, capture, analyzers)
        return capture or bool(analyzers)

    def content(self, layer: int, meta: FileMeta, data: bytes) -> None:
        decided_for, capture, analyzers = self._decided
        if decided_for is not meta:
            self.wants(meta)
            decided_for, capture, analyzers = self._decided
        if capture:
            self._content.put(layer, meta.path, data)
        for analyzer in analyzers:
            name = analyzer.spec.name
            started = time.perf_counter()
            try:
                self._collected.merge(analyzer.analyze_file(meta, data, layer, self._ctx))
            except Exception as e:  # one file must not sink the scan
                log.debug("analyzer %s failed on %s", name, meta.path, exc_info=True)
                self._collected.warnings.append(
                    Warning(message=f"{type(e).__name__}: {e}", path=meta.path, layer=layer,
                            analyzer=name)
                )
            self._timings[name] = self._timings.get(name, 0.0) + time.perf_counter() - started


@dataclass
class EngineOptions:
    limits: ScanLimits = field(default_factory=ScanLimits)
    verify_diff_ids: bool = True
    temp_dir: str | None = None
    progress: Progress = field(default_factory=NullProgress)
    now: datetime | None = None


def check_image_size(image: Image, limits: ScanLimits) -> None:
    if image.info.size > limits.max_image_size:
        raise LimitExceededError(
            "max_image_size", limits.max_image_size,
            f"{image.info.reference} (image over-sized: {image.info.size} bytes)",
        )
    for layer in image.info.layers:
        if (layer.size or 0) > limits.max_layer_size:
            raise LimitExceededError("max_layer_size", limits.max_layer_size,
                                     f"layer {layer.index} ({layer.size} bytes)")


def read_layers(
    image: Image, sink: _Sink, options: EngineOptions
) -> list[LayerIndex]:
    limits = options.limits
    check_image_size(image, limits)
    counter = FileCounter(limits.max_files)
    indexes: list[LayerIndex] = []
    total = 0
    verify = options.verify_diff_ids and image.info.source != "dir"
    for layer in image.info.layers:
        what = f"layer {layer.index} ({(layer.digest or layer.diff_id)[:19]})"
        key = f"layer-{layer.index}"
        options.progress.start(key, f"layer {layer.index + 1}/{len(image.info.layers)}",
                               layer.size)
        raw = image.open_layer(layer)
        seen = 0

        def advance(_total: int, raw: object = raw, key: str = key) -> None:
            nonlocal seen
            done = getattr(raw, "bytes_read", 0)
            options.progress.advance(key, done - seen)
            seen = done

        try:
            stream = LayerStream(raw, diff_id=layer.diff_id if verify else None,
                                 limit=limits.max_layer_bytes, what=what)
            index = index_layer(stream, layer.index, sink=sink, limits=limits,
                                counter=counter, what=what, on_bytes=advance)
        finally:
            raw.close()
            options.progress.finish(key)
        total += index.tar_bytes
        if total > limits.max_image_bytes:
            raise LimitExceededError("max_image_bytes", limits.max_image_bytes,
                                     image.info.reference)
        indexes.append(index)
    return indexes


def run(
    image: Image,
    analyzers: Sequence[object],
    options: EngineOptions,
) -> EngineResult:
    """Stream every layer once, then run the tree analyzers. Analyzer failures become
    warnings and ``failed`` statuses; source and layer errors propagate (they are fatal)."""
    file_analyzers = [a for a in analyzers if isinstance(a, FileAnalyzer)]
    tree_analyzers = sorted(
        (a for a in analyzers if isinstance(a, TreeAnalyzer)),
        key=lambda a: (a.spec.stage, a.spec.name),
    )
    now = options.now or datetime.now().astimezone()
    ctx = AnalysisContext(image=image.info, limits=options.limits, now=now)
    collected = AnalysisResult()
    timings: dict[str, float] = {}
    content = ContentStore(options.temp_dir)
    capture = [p for a in tree_analyzers for p in a.spec.paths]
    sink = _Sink(file_analyzers, capture, content, ctx, collected, timings)
    indexes = read_layers(image, sink, options)
    for index in indexes:
        collected.warnings.extend(index.warnings)
    view = SquashedView.build(indexes, content, options.limits.max_symlink_depth)
    failures: dict[str, str] = {}
    deduped = False
    for analyzer in tree_analyzers:
        if analyzer.spec.stage > STAGE_INVENTORY and not deduped:
            _dedupe(view, collected, ctx)
            deduped = True
        name = analyzer.spec.name
        started = time.perf_counter()
        try:
            result = analyzer.analyze(view, ctx)
        except PortcullisError as e:
            failures[name] = str(e)
            collected.warnings.append(Warning(message=str(e), analyzer=name))
            continue
        except Exception as e:
            log.debug("analyzer %s crashed", name, exc_info=True)
            failures[name] = f"{type(e).__name__}: {e}"
            collected.warnings.append(Warning(message=failures[name], analyzer=name))
            continue
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        if result.distro is not None and ctx.distro is None:
            ctx.distro = result.distro
        ctx.packages.extend(result.packages)
        ctx.facts.update(result.facts)
        collected.merge(result)
    if not deduped:
        _dedupe(view, collected, ctx)
    engine = EngineResult(view=view, result=collected)
    engine.statuses = _statuses(analyzers, timings, failures)
    return engine


def _dedupe(view: SquashedView, collected: AnalysisResult, ctx: AnalysisContext) -> None:
    """After the inventory stage: OS-owned files do not count twice (see ownership.py), and
    licenses are SPDX where they map (see licenses.py)."""
    dropped = drop_os_owned(view, collected)
    if dropped:
        collected.facts["os_owned_language_packages"] = len(dropped)
    collected.packages[:] = [
        replace(p, licenses=normalize_all(p.licenses)) if p.licenses else p
        for p in collected.packages
    ]
    collected.packages[:] = merge_declared(collected.packages)
    ctx.packages[:] = collected.packages


def _statuses(
    analyzers: Sequence[object], timings: dict[str, float], failures: dict[str, str]
) -> dict[str, ScannerStatus]:
    statuses: dict[str, ScannerStatus] = {}
    for analyzer in analyzers:
        spec = analyzer.spec  # type: ignore[attr-defined]
        for scanner in spec.scanners:
            status = statuses.setdefault(scanner, ScannerStatus())
            status.seconds += timings.get(spec.name, 0.0)
            if spec.name in failures:
                status.status = "failed"
                status.message = f"{spec.name}: {failures[spec.name]}"
    return statuses
