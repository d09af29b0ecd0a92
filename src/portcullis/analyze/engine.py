"""Drive the analyzers: one streaming pass per layer, then the tree analyzers on the view."""

from __future__ import annotations

import gc
import logging
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
from portcullis.analyze.caps import cap_warnings
from portcullis.analyze.declared import merge_declared
from portcullis.analyze.feed import Failures, Feed
from portcullis.analyze.layer_cache import (
    CachedInventory,
    CachedLayer,
    HashingReader,
    LayerCache,
    blob_sha256,
    inventory_key,
    key_salt,
    layer_key,
)
from portcullis.analyze.licenses import normalize_all
from portcullis.analyze.ownership import drop_os_owned
from portcullis.errors import LimitExceededError, PortcullisError
from portcullis.layers.content import ContentStore
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.layers.view import SquashedView
from portcullis.limits import ScanLimits
from portcullis.model.blob import Image
from portcullis.model.finding import Warning
from portcullis.model.image import LayerRef
from portcullis.model.package import Package
from portcullis.progress import NullProgress, Progress

log = logging.getLogger(__name__)

# A layer whose captured files (jars, databases) pass this is not cached: an entry is written
# and read whole, and memory must stay bounded.
MAX_CACHED_CAPTURE = 64 << 20


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
    from_cache: list[int] = field(default_factory=list)  # layers whose results were cached
    inventory_from_cache: bool = False  # the environment and inventory stages too


@dataclass
class EngineOptions:
    limits: ScanLimits = field(default_factory=ScanLimits)
    verify_diff_ids: bool = True
    temp_dir: str | None = None
    cache: LayerCache | None = None  # per-layer results of earlier scans (see layer_cache.py)
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


@dataclass
class LayerResult:
    """One layer's index and what the file analyzers found in it."""

    index: LayerIndex
    result: AnalysisResult
    blob: str  # sha256 of the raw blob, verified in this scan
    from_cache: bool = False


def read_layers(image: Image, feed: Feed, content: ContentStore,
                options: EngineOptions, salt: str = "") -> list[LayerResult]:
    """Every layer bottom-up: from the layer cache when it holds an entry for these very bytes,
    else streamed once through the index and the feed (and then stored in the cache)."""
    limits = options.limits
    check_image_size(image, limits)
    counter = FileCounter(limits.max_files)
    out: list[LayerResult] = []
    total = 0
    verify = options.verify_diff_ids and image.info.source != "dir"
    # A directory has no blob to verify: it is never cached.
    cache = options.cache if image.info.source != "dir" else None
    below: list[str] = []  # verified sha256 of the raw blobs of the layers read so far
    for layer in image.info.layers:
        key = layer_key(salt, below, layer) if cache is not None else None
        hit = _from_cache(image, layer, cache, key, verify, options)
        if hit is not None:
            blob, entry = hit
            index, result = entry.index, entry.result
            counter.add_many(entry.files, f"layer {layer.index} (from the layer cache)")
            for path, data in entry.captured:
                content.put(layer.index, path, data)
            feed.add_lower(index)
        else:
            blob, index, result, stored = _read_layer(image, layer, feed, content, counter,
                                                      options, verify)
            if cache is not None and key is not None and stored is not None:
                cache.put(key, stored)
        below.append(blob)
        total += index.tar_bytes
        if total > limits.max_image_bytes:
            raise LimitExceededError("max_image_bytes", limits.max_image_bytes,
                                     image.info.reference)
        out.append(LayerResult(index=index, result=result, blob=blob,
                               from_cache=hit is not None))
    return out


def _from_cache(image: Image, layer: LayerRef, cache: LayerCache | None, key: str | None,
                verify: bool, options: EngineOptions) -> tuple[str, CachedLayer] | None:
    """The cached entry of ``layer`` when the blob read now hashes to the one it was made
    from (and, with diff_id checks on, it was made with the same diff_id verified)."""
    if cache is None or key is None:
        return None
    entry = cache.get(key)
    if entry is None:
        return None
    if verify and entry.diff_id != layer.diff_id:
        return None  # read it for real: that verifies the diff_id, or fails on it
    progress_key = f"layer-{layer.index}"
    options.progress.start(progress_key, f"layer {layer.index + 1}/{len(image.info.layers)}",
                           layer.size)
    raw = image.open_layer(layer)
    try:
        blob = blob_sha256(raw)
    finally:
        raw.close()
        options.progress.finish(progress_key)
    if blob != entry.blob_sha256:
        log.info("layer %d: cache entry made from other bytes; reading the layer", layer.index)
        return None
    return blob, entry


def _read_layer(image: Image, layer: LayerRef, feed: Feed, content: ContentStore,
                counter: FileCounter, options: EngineOptions, verify: bool,
                ) -> tuple[str, LayerIndex, AnalysisResult, CachedLayer | None]:
    """Stream one layer through the index and the feed. Also returns what a cache may keep
    of it (None when an analyzer failed on one of its files: a failure is not remembered)."""
    limits = options.limits
    what = f"layer {layer.index} ({(layer.digest or layer.diff_id)[:19]})"
    key = f"layer-{layer.index}"
    options.progress.start(key, f"layer {layer.index + 1}/{len(image.info.layers)}",
                           layer.size)
    raw = HashingReader(image.open_layer(layer))
    seen = 0
    files_before = counter.count
    failed_before = feed.failed_files

    def advance(_total: int) -> None:
        nonlocal seen
        done = raw.bytes_read
        options.progress.advance(key, done - seen)
        seen = done

    try:
        stream = LayerStream(raw, diff_id=layer.diff_id if verify else None,
                             limit=limits.max_layer_bytes, what=what)
        index = index_layer(stream, layer.index, sink=feed, limits=limits,
                            counter=counter, what=what, on_bytes=advance)
    finally:
        raw.close()
        options.progress.finish(key)
    result = feed.end_layer(index)
    blob = raw.hexdigest()
    if options.cache is None or feed.failed_files != failed_before:
        return blob, index, result, None
    captured = content.of_layer(layer.index, MAX_CACHED_CAPTURE)
    stored = None
    if captured is not None:
        stored = CachedLayer(blob_sha256=blob, diff_id=layer.diff_id if verify else None,
                             index=index, result=result, files=counter.count - files_before,
                             captured=captured)
    return blob, index, result, stored


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
    content = ContentStore(options.temp_dir)
    salt = key_salt(analyzers, options.limits) if options.cache is not None else ""
    capture = [p for a in tree_analyzers for p in a.spec.paths]
    feed = Feed(file_analyzers, capture, content, ctx)
    # The layer pass allocates millions of small objects and frees almost none: the cyclic
    # garbage collector only re-walks them (~40% of a 1M-entry build). None of them form
    # cycles, so it is paused for the pass and the view build.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        layers = read_layers(image, feed, content, options, salt)
        view = SquashedView.build((layer.index for layer in layers), content,
                                  options.limits.max_symlink_depth)
    finally:
        if gc_was_on:
            gc.enable()
    collected = AnalysisResult()
    for layer in layers:
        collected.warnings.extend(layer.index.warnings)
        collected.merge(mark_visibility(view, layer.result))
    failures = feed.failures
    early = [a for a in tree_analyzers if a.spec.stage <= STAGE_INVENTORY]
    key = None
    if options.cache is not None and image.info.source != "dir":
        key = inventory_key(salt, [lr.blob for lr in layers])
    cached = options.cache.get_inventory(key) if options.cache is not None and key else None
    if cached is not None:
        collected, ctx.distro = cached.result, cached.distro
        ctx.packages[:] = collected.packages
    else:
        _inventory(early, view, ctx, collected, failures)
        if options.cache is not None and key and not failures.reasons:
            options.cache.put_inventory(key, CachedInventory(result=collected,
                                                             distro=ctx.distro))
    for analyzer in tree_analyzers:
        if analyzer.spec.stage > STAGE_INVENTORY:
            _merge_tree(_run_tree(analyzer, view, ctx, failures), ctx, collected)
    collected.warnings[:] = cap_warnings(collected.warnings)
    engine = EngineResult(view=view, result=collected,
                          from_cache=[lr.index.layer for lr in layers if lr.from_cache],
                          inventory_from_cache=cached is not None)
    engine.statuses = _statuses(analyzers, failures)
    return engine


def _inventory(early: list[TreeAnalyzer], view: SquashedView, ctx: AnalysisContext,
               collected: AnalysisResult, failures: Failures) -> None:
    """The environment and inventory stages, then the dedupe steps: what a checks-stage
    analyzer reads as ``ctx.distro`` and ``ctx.packages``."""
    for analyzer in early:
        _merge_tree(_run_tree(analyzer, view, ctx, failures), ctx, collected)
    _dedupe(view, collected, ctx)


def _merge_tree(result: AnalysisResult, ctx: AnalysisContext,
                collected: AnalysisResult) -> None:
    if result.distro is not None and ctx.distro is None:
        ctx.distro = result.distro
    ctx.packages.extend(result.packages)
    collected.merge(result)


def _run_tree(analyzer: TreeAnalyzer, view: SquashedView, ctx: AnalysisContext,
              failures: Failures) -> AnalysisResult:
    name = analyzer.spec.name
    started = time.perf_counter()
    try:
        return analyzer.analyze(view, ctx)
    except PortcullisError as e:
        reason = str(e)
    except Exception as e:
        log.debug("analyzer %s crashed", name, exc_info=True)
        reason = f"{type(e).__name__}: {e}"
    finally:
        failures.spent(name, started)
    failures.fail(name, reason)
    return AnalysisResult(warnings=[Warning(message=reason, analyzer=name)])


def mark_visibility(view: SquashedView, result: AnalysisResult) -> AnalysisResult:
    """Findings made during the layer pass do not know whether a later layer hid their file:
    the view's history does. A finding in a version that was deleted or overwritten keeps its
    layer and gets ``visible: false`` (its bytes still ship with the image)."""
    result.findings[:] = [
        replace(f, visible=False) if _hidden(view, f.path, f.layer) and f.visible else f
        for f in result.findings
    ]
    return result


def _hidden(view: SquashedView, path: str | None, layer: int | None) -> bool:
    if path is None or layer is None:
        return False
    current = view.entry(path)
    return current is None or current.layer != layer


def _dedupe(view: SquashedView, collected: AnalysisResult, ctx: AnalysisContext) -> None:
    """After the inventory stage: OS-owned files do not count twice (see ownership.py), and
    licenses are SPDX where they map (see licenses.py), and a lock file's entry folds into the
    installed package it names (see declared.py). Each step is guarded: a failure is a warning
    and the inventory stays as it was, never a lost scan."""
    try:
        dropped = drop_os_owned(view, collected)
    except Exception as e:
        log.debug("ownership step failed", exc_info=True)
        collected.warnings.append(Warning(message=f"OS ownership step failed: {e!r}"))
    else:
        if dropped:
            log.debug("%d language packages dropped: OS packages own their files", len(dropped))
    collected.packages[:] = [_normalized(p, collected.warnings) for p in collected.packages]
    try:
        collected.packages[:] = merge_declared(collected.packages)
    except Exception as e:
        log.debug("declared/installed merge failed", exc_info=True)
        collected.warnings.append(Warning(message=f"lock-file merge step failed: {e!r}"))
    ctx.packages[:] = collected.packages


def _normalized(package: Package, warnings: list[Warning]) -> Package:
    if not package.licenses:
        return package
    try:
        return replace(package, licenses=normalize_all(package.licenses))
    except Exception as e:
        where = package.locations[0] if package.locations else None
        warnings.append(Warning(
            message=f"license of {package.name} {package.version} kept as written: {e!r}",
            path=where.path if where else None, layer=package.introduced_in))
        return package


def _statuses(analyzers: Sequence[object], failures: Failures) -> dict[str, ScannerStatus]:
    statuses: dict[str, ScannerStatus] = {}
    for analyzer in analyzers:
        spec = analyzer.spec  # type: ignore[attr-defined]
        for scanner in spec.scanners:
            status = statuses.setdefault(scanner, ScannerStatus())
            status.seconds += failures.seconds.get(spec.name, 0.0)
            reason = failures.reasons.get(spec.name)
            if reason is not None and status.status != "failed":
                status.status = "failed"
                status.message = f"{spec.name}: {reason}"
    return statuses
