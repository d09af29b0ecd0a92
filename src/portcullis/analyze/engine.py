"""Drive the analyzers: one streaming pass per layer, then the tree analyzers on the view."""

from __future__ import annotations

import gc
import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSettings,
    CheckSettings,
    FileAnalyzer,
    TreeAnalyzer,
)
from portcullis.analyze.blob_hashes import HashAhead, hash_blobs
from portcullis.analyze.caps import cap_warnings
from portcullis.analyze.declared import merge_declared
from portcullis.analyze.feed import Failures, Feed
from portcullis.analyze.file_stats import file_stats
from portcullis.analyze.image_key import image_key, storable
from portcullis.analyze.layer_cache import (
    CachedImage,
    CachedInventory,
    CachedLayer,
    CapturedFile,
    HashingReader,
    LayerCache,
    inventory_key,
    key_salt,
    layer_key,
    settings_digest,
)
from portcullis.analyze.licenses import normalize_all
from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.analyze.ownership import drop_os_owned
from portcullis.analyze.parallel import (
    LayerDone,
    LayerJob,
    LayerPool,
    analyzer_path,
    decode_done,
)
from portcullis.analyze.prefetch import ScanCache, prefetch
from portcullis.analyze.tree_reuse import TreeReuse, inputs_digest, owned_digest_form
from portcullis.errors import LimitExceededError, PortcullisError
from portcullis.layers.content import ContentStore
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.layers.view import Filesystem, SquashedView
from portcullis.limits import ScanLimits
from portcullis.model.blob import Image, Reader
from portcullis.model.finding import Warning
from portcullis.model.image import LayerRef
from portcullis.model.package import Package
from portcullis.model.report import FileStats
from portcullis.progress import NullProgress, Progress

if TYPE_CHECKING:  # loaded only by a scan with the compliance scanner
    from portcullis.model.compliance import ComplianceSettings

log = logging.getLogger(__name__)

# A layer whose captured files (jars, databases) pass this is not cached: an entry is written
# and read whole, and memory must stay bounded.
MAX_CACHED_CAPTURE = 64 << 20


class ScannerStatus(msgspec.Struct):
    status: str = "ok"  # ok, failed, skipped
    message: str | None = None
    seconds: float = 0.0


class EngineResult(msgspec.Struct):
    result: AnalysisResult
    files: FileStats  # totals over the view's visible files (the report's ``files``)
    statuses: dict[str, ScannerStatus] = msgspec.field(default_factory=dict)
    from_cache: list[int] = msgspec.field(default_factory=list)  # layers whose results were cached
    inventory_from_cache: bool = False  # the environment and inventory stages too
    # Tree analyzers (and "dedupe") whose recorded result was reused: what they read had not
    # changed (see tree_reuse.py); empty when the whole inventory came from the cache.
    reused: list[str] = msgspec.field(default_factory=list)
    image_from_cache: bool = False  # the whole result: no view was built, no tree analyzer ran
    built: SquashedView | None = None
    # Builds the view when it was not (a whole-result hit); call it while the image is open.
    rebuild: Callable[[], SquashedView] | None = None

    @property
    def view(self) -> SquashedView:
        """The squashed view; after a whole-result hit it is built on first use (the layer
        pass again, mostly from the layer cache), so the image must still be open."""
        if self.built is None:
            if self.rebuild is None:
                raise RuntimeError("engine result without a view")
            self.built = self.rebuild()
        return self.built

    def close(self) -> None:
        if self.built is not None:
            self.built.close()


class EngineOptions(msgspec.Struct):
    limits: ScanLimits = msgspec.field(default_factory=ScanLimits)
    verify_diff_ids: bool = True
    temp_dir: str | None = None
    cache: LayerCache | None = None  # per-layer results of earlier scans (see layer_cache.py)
    workers: int = 1  # processes analysing layers at once (see parallel.py); 1: this process
    progress: Progress = msgspec.field(default_factory=NullProgress)
    now: datetime | None = None
    checks: CheckSettings = msgspec.field(default_factory=CheckSettings)
    compliance: ComplianceSettings | None = None
    malware: MalwareSettings = msgspec.field(default_factory=MalwareSettings)
    settings: AnalyzerSettings = msgspec.field(default_factory=AnalyzerSettings)
    hashes: HashAhead | None = None  # blob hashes begun while the scan started (blob_hashes.py)


def blob_hashes(image: Image, layers: Sequence[LayerRef], options: EngineOptions) -> list[str]:
    """The verified sha256 of each layer's raw blob (from the hashes begun ahead, if any)."""
    if options.hashes is not None:
        return options.hashes.take(layers)
    return hash_blobs(image, layers, options.progress)


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


class LayerResult(msgspec.Struct):
    """One layer's index and what the file analyzers found in it."""

    index: LayerIndex
    result: AnalysisResult
    blob: str  # sha256 of the raw blob, verified in this scan
    from_cache: bool = False


def read_layers(image: Image, feed: Feed, content: ContentStore,
                options: EngineOptions, salt: str = "",
                analyzers: Sequence[object] = ()) -> list[LayerResult]:
    """Every layer bottom-up: from the layer cache when it holds an entry for these very bytes,
    else streamed once through the index and the feed (and then stored in the cache); with
    ``options.workers`` > 1, the layers to read are analysed in worker processes."""
    limits = options.limits
    check_image_size(image, limits)
    counter = FileCounter(limits.max_files)
    verify = options.verify_diff_ids and image.info.source != "dir"
    # A directory has no blob to verify: it is never cached (nor split: it is one layer).
    cache = options.cache if image.info.source != "dir" else None
    workers = None
    if options.workers > 1 and len(image.info.layers) > 1 and image.info.source != "dir":
        workers = _Workers(options.workers, [analyzer_path(a) for a in analyzers])
    try:
        steps = _plan(image, feed, content, counter, options, verify, cache, salt, workers)
        if workers is not None:
            # Every blob is read (and handed to a worker) before the first merge waits.
            steps = iter(list(steps))
        out: list[LayerResult] = []
        total = 0
        for key, step in steps:
            done = step()
            if cache is not None and key is not None and done.stored is not None:
                cache.put(key, done.stored)
            total += done.layer.index.tar_bytes
            if total > limits.max_image_bytes:
                raise LimitExceededError("max_image_bytes", limits.max_image_bytes,
                                         image.info.reference)
            out.append(done.layer)
        return out
    finally:
        if workers is not None:
            workers.close()


class _Step(msgspec.Struct):
    layer: LayerResult
    stored: CachedLayer | None = None  # what the cache may keep of a layer just read


def _plan(image: Image, feed: Feed, content: ContentStore, counter: FileCounter,
          options: EngineOptions, verify: bool, cache: LayerCache | None, salt: str,
          workers: _Workers | None) -> Iterator[tuple[str | None, Callable[[], _Step]]]:
    """Per layer, bottom-up, its cache key and a step that gives its result; the steps must be
    called in layer order (they add the layer to the feed's lower layers, its captures to the
    content store). Without a pool, each step is called before the next layer is planned."""
    below: list[str] = []  # verified sha256 of the raw blobs of the layers below
    for layer in image.info.layers:
        key = layer_key(salt, below, layer) if cache is not None else None
        hit = _from_cache(image, layer, cache, key, verify, options)
        if hit is not None:
            blob = hit[0]
            yield None, _apply_hit(layer, hit[1], blob, feed, content, counter)
            below.append(blob)
            continue
        if options.hashes is not None:
            options.hashes.stop()  # this layer is read (and hashed) now: no second reader
        if workers is None:
            blob, index, result, stored = _read_layer(image, layer, feed, content, counter,
                                                      options, verify)
            yield key, _ready(_Step(LayerResult(index=index, result=result, blob=blob), stored))
        else:
            blob, merge = _to_worker(image, layer, feed, content, counter, options, verify,
                                     workers)
            yield key, merge
        below.append(blob)


def _ready(step: _Step) -> Callable[[], _Step]:
    return lambda: step


def _apply_hit(layer: LayerRef, entry: CachedLayer, blob: str, feed: Feed,
               content: ContentStore, counter: FileCounter) -> Callable[[], _Step]:
    def apply() -> _Step:
        counter.add_many(entry.files, f"layer {layer.index} (from the layer cache)")
        content.put_views(layer.index, [(c.path, c.data, c.sha256) for c in entry.captured])
        index = entry.layer_index()
        feed.add_lower(index)
        return _Step(LayerResult(index=index, result=entry.result, blob=blob, from_cache=True))
    return apply


class _Worker:
    """A layer spooled for a worker: submitted once a second layer must be read (one layer
    alone is read here, from its spool: a worker would only add a fork and a copy)."""

    def __init__(self, job: LayerJob) -> None:
        self.job = job
        self.future: Future[bytes] | None = None


class _Workers:
    def __init__(self, count: int, analyzers: list[str]) -> None:
        self.count = count
        self.analyzers = analyzers
        self.waiting: list[_Worker] = []
        self.pool: LayerPool | None = None

    def add(self, item: _Worker) -> None:
        self.waiting.append(item)
        if len(self.waiting) < 2:
            return
        if self.pool is None:
            self.pool = LayerPool(self.count)
        for waiting in self.waiting:
            waiting.future = self.pool.submit(waiting.job)
        self.waiting.clear()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _to_worker(image: Image, layer: LayerRef, feed: Feed, content: ContentStore,
               counter: FileCounter, options: EngineOptions, verify: bool, workers: _Workers,
               ) -> tuple[str, Callable[[], _Step]]:
    what = f"layer {layer.index} ({(layer.digest or layer.diff_id)[:19]})"
    blob, spool = _spool(image, layer, options)
    item = _Worker(LayerJob(analyzers=workers.analyzers, limits=options.limits,
                            image=image.info, now=options.now or datetime.now().astimezone(),
                            layer=layer.index, diff_id=layer.diff_id if verify else None,
                            blob_path=str(spool), temp_dir=options.temp_dir, what=what,
                            malware=options.malware, settings=options.settings))
    workers.add(item)

    def merge() -> _Step:
        try:
            if item.future is None:
                with spool.open("rb") as fh:
                    _, index, result, stored = _read_layer(image, layer, feed, content,
                                                           counter, options, verify, raw=fh)
                return _Step(LayerResult(index=index, result=result, blob=blob), stored)
            done = decode_done(item.future.result())
        finally:
            spool.unlink(missing_ok=True)
        return _merge(layer, done, blob, feed, content, counter, options, verify)

    return blob, merge


def _spool(image: Image, layer: LayerRef, options: EngineOptions) -> tuple[str, Path]:
    """The layer's blob copied to a file in the temp dir, and its sha256."""
    progress_key = f"layer-{layer.index}"
    options.progress.start(progress_key, f"layer {layer.index + 1}/{len(image.info.layers)}",
                           layer.size)
    spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 (removed once merged)
        prefix="layer-", dir=options.temp_dir, delete=False)
    try:
        raw = HashingReader(image.open_layer(layer))
        try:
            while chunk := raw.read(1 << 20):
                spool.write(chunk)
                options.progress.advance(progress_key, len(chunk))
        finally:
            raw.close()
            spool.close()
            options.progress.finish(progress_key)
    except BaseException:
        Path(spool.name).unlink(missing_ok=True)
        raise
    return raw.hexdigest(), Path(spool.name)


def _merge(layer: LayerRef, done: LayerDone, blob: str, feed: Feed, content: ContentStore,
           counter: FileCounter, options: EngineOptions, verify: bool) -> _Step:
    """A worker's answer, added in layer order as if the layer had been read here."""
    counter.add_many(done.files, f"layer {layer.index}")
    for path, data in done.captured:
        content.put(layer.index, path, data)
    for name, reason in done.failures.items():
        feed.failures.fail(name, reason)
    for name, seconds in done.seconds.items():
        feed.failures.seconds[name] = feed.failures.seconds.get(name, 0.0) + seconds
    failed_before = feed.failed_files
    done.result.merge(feed.replay_links(done.index, done.links))
    result = LayerResult(index=done.index, result=done.result, blob=blob)
    stored = None
    if options.cache is not None and not done.failed_files \
            and feed.failed_files == failed_before \
            and sum(len(d) for _, d in done.captured) <= MAX_CACHED_CAPTURE:
        stored = CachedLayer.of(blob_sha256=blob, diff_id=layer.diff_id if verify else None,
                             index=done.index, result=done.result, files=done.files,
                             captured=_captured(content, layer.index, done.captured))
    return _Step(result, stored)


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
    blob = cache.hashed.get(layer.index) if isinstance(cache, ScanCache) else None
    if blob is None:
        [blob] = blob_hashes(image, [layer], options)
    if blob != entry.blob_sha256:
        log.info("layer %d: cache entry made from other bytes; reading the layer", layer.index)
        return None
    return blob, entry


def _read_layer(image: Image, layer: LayerRef, feed: Feed, content: ContentStore,
                counter: FileCounter, options: EngineOptions, verify: bool,
                raw: Reader | None = None,
                ) -> tuple[str, LayerIndex, AnalysisResult, CachedLayer | None]:
    """Stream one layer (its blob from the source, or ``raw``) through the index and the feed.
    Also returns what a cache may keep of it (None when an analyzer failed on one of its
    files: a failure is not remembered)."""
    limits = options.limits
    what = f"layer {layer.index} ({(layer.digest or layer.diff_id)[:19]})"
    key = f"layer-{layer.index}"
    options.progress.start(key, f"layer {layer.index + 1}/{len(image.info.layers)}",
                           layer.size)
    hashing = HashingReader(raw if raw is not None else image.open_layer(layer))
    seen = 0
    files_before = counter.count
    failed_before = feed.failed_files

    def advance(_total: int) -> None:
        nonlocal seen
        done = hashing.bytes_read
        options.progress.advance(key, done - seen)
        seen = done

    try:
        # Closing the stream stops its thread before the blob is closed under it.
        with LayerStream(hashing, diff_id=layer.diff_id if verify else None,
                         limit=limits.max_layer_bytes, what=what) as stream:
            index = index_layer(stream, layer.index, sink=feed, limits=limits,
                                counter=counter, what=what, on_bytes=advance)
    finally:
        hashing.close()
        options.progress.finish(key)
    result = feed.end_layer(index)
    blob = hashing.hexdigest()
    if options.cache is None or feed.failed_files != failed_before:
        return blob, index, result, None
    captured = content.of_layer(layer.index, MAX_CACHED_CAPTURE)
    stored = None
    if captured is not None:
        stored = CachedLayer.of(blob_sha256=blob, diff_id=layer.diff_id if verify else None,
                             index=index, result=result, files=counter.count - files_before,
                             captured=_captured(content, layer.index, captured))
    return blob, index, result, stored


def _captured(content: ContentStore, layer: int,
              files: list[tuple[str, bytes]]) -> list[CapturedFile]:
    """A layer's captured files with their sha256 (hashed once: the store remembers it for
    the tree analyzers' recorded reads)."""
    out = []
    for path, data in files:
        digest = content.digest(layer, path)
        if digest is None:  # not in the store: cannot happen for files it listed
            digest = hashlib.sha256(data).digest()
        out.append(CapturedFile(path=path, data=memoryview(data), sha256=digest))
    return out


def run(
    image: Image,
    analyzers: Sequence[object],
    options: EngineOptions,
) -> EngineResult:
    """Stream every layer once, then run the tree analyzers. Analyzer failures become
    warnings and ``failed`` statuses; source and layer errors propagate (they are fatal).
    With a cache: a rescan of the same image with the same settings takes the whole result
    from it (when this scan hashes every blob to what it recorded), else the layers it holds."""
    now = options.now or datetime.now().astimezone()
    cache = ScanCache(options.cache) \
        if options.cache is not None and image.info.source != "dir" else None
    if cache is None:
        return _run(image, analyzers, options, now, "", None)
    salt = key_salt(analyzers, options.limits,
                    settings_digest(options.malware, options.settings))
    verify = options.verify_diff_ids
    whole = image_key(salt, image.info, verify, now, options.checks, options.compliance)
    check_image_size(image, options.limits)
    hit = _image_hit(image, cache, whole, options)
    if hit is not None:
        return _whole_result(image, analyzers, options, hit)
    prefetch(image, cache, salt, verify, lambda todo: blob_hashes(image, todo, options))
    return _run(image, analyzers, replace(options, cache=cache), now, salt, whole)


def _image_hit(image: Image, cache: ScanCache, key: str,
               options: EngineOptions) -> CachedImage | None:
    """The whole-result entry under ``key`` when every blob hashes now to what it recorded.
    The hashes are kept in ``cache`` for the layer entries either way."""
    entry = cache.get_image(key)
    layers = image.info.layers
    if entry is None or len(entry.blobs) != len(layers):
        return None
    blobs = blob_hashes(image, layers, options)
    cache.hashed.update((layer.index, blob) for layer, blob in zip(layers, blobs, strict=True))
    if blobs != entry.blobs:
        log.info("cached scan result made from other bytes; reading the layers")
        return None
    return entry


def _whole_result(image: Image, analyzers: Sequence[object], options: EngineOptions,
                  hit: CachedImage) -> EngineResult:
    layers = [layer.index for layer in image.info.layers]
    engine = EngineResult(result=hit.result, files=hit.files, from_cache=layers,
                          inventory_from_cache=True, image_from_cache=True,
                          rebuild=lambda: _run(image, analyzers, options,
                                               options.now or datetime.now().astimezone(),
                                               "", None, view_only=True).view)
    engine.statuses = _statuses(analyzers, Failures())
    return engine


def _run(image: Image, analyzers: Sequence[object], options: EngineOptions, now: datetime,
         salt: str, whole: str | None, view_only: bool = False) -> EngineResult:
    """The layer pass and the tree analyzers; ``whole``: the key to store the result under.
    ``view_only``: stop once the view is built (its result is not complete)."""
    file_analyzers = [a for a in analyzers if isinstance(a, FileAnalyzer)]
    tree_analyzers = sorted(
        (a for a in analyzers if isinstance(a, TreeAnalyzer)),
        key=lambda a: (a.spec.stage, a.spec.name),
    )
    ctx = AnalysisContext(image=image.info, limits=options.limits, now=now,
                          checks=options.checks, compliance=options.compliance,
                          malware=options.malware, settings=options.settings)
    if not view_only:
        _prepare(analyzers, ctx)
    content = ContentStore(options.temp_dir)
    if options.cache is not None and not salt:
        salt = key_salt(analyzers, options.limits,
                        settings_digest(options.malware, options.settings))
    capture = [p for a in tree_analyzers for p in a.spec.paths]
    feed = Feed(file_analyzers, capture, content, ctx)
    # The layer pass allocates millions of small objects and frees almost none: the cyclic
    # garbage collector only re-walks them (~40% of a 1M-entry build). None of them form
    # cycles, so it is paused for the pass and the view build.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        layers = read_layers(image, feed, content, options, salt, analyzers)
        view = SquashedView.build((layer.index for layer in layers), content,
                                  options.limits.max_symlink_depth)
    finally:
        if gc_was_on:
            gc.enable()
    if view_only:
        return EngineResult(result=AnalysisResult(), files=FileStats(), built=view)
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
    reuse = TreeReuse(options.cache, salt, view) if options.cache is not None and key else None
    if cached is not None:
        collected, ctx.distro = cached.result, cached.distro
        ctx.packages[:] = collected.packages
    else:
        _inventory(early, view, ctx, collected, failures, reuse)
    inventory = _snapshot(collected)
    checks: dict[str, AnalysisResult] = {}
    for analyzer in tree_analyzers:
        if analyzer.spec.stage <= STAGE_INVENTORY:
            continue
        name = analyzer.spec.name
        if cached is not None and name in cached.checks:
            result = cached.checks[name]
        else:
            result = _run_tree(analyzer, view, ctx, failures)
            if getattr(analyzer, "reads_only_files", False):
                checks[name] = result
        _merge_tree(result, ctx, collected)
    if options.cache is not None and key and cached is None and not failures.reasons:
        options.cache.put_inventory(key, CachedInventory(result=inventory, distro=ctx.distro,
                                                         checks=checks))
    collected.warnings[:] = cap_warnings(collected.warnings)
    engine = EngineResult(result=collected, files=file_stats(view, collected), built=view,
                          from_cache=[lr.index.layer for lr in layers if lr.from_cache],
                          inventory_from_cache=cached is not None,
                          reused=reuse.reused if reuse is not None else [])
    if engine.reused:
        log.debug("tree analyzer results reused: %s", ", ".join(engine.reused))
    engine.statuses = _statuses(analyzers, failures)
    if options.cache is not None and whole is not None and not failures.reasons \
            and storable(collected):
        options.cache.put_image(whole, CachedImage(blobs=[lr.blob for lr in layers],
                                                   result=_snapshot(collected),
                                                   files=engine.files))
    return engine


def _prepare(analyzers: Sequence[object], ctx: AnalysisContext) -> None:
    """Analyzers with settings to load and check (rule files) do it before the layer pass:
    a ConfigError there ends the scan before any layer is read."""
    for analyzer in analyzers:
        prepare = getattr(analyzer, "prepare", None)
        if callable(prepare):
            prepare(ctx)


def _snapshot(result: AnalysisResult) -> AnalysisResult:
    """A copy whose lists later merges do not extend (the items are immutable)."""
    return replace(result, packages=list(result.packages), findings=list(result.findings),
                   warnings=list(result.warnings), owned_paths=dict(result.owned_paths))


def _inventory(early: list[TreeAnalyzer], view: SquashedView, ctx: AnalysisContext,
               collected: AnalysisResult, failures: Failures,
               reuse: TreeReuse | None = None) -> None:
    """The environment and inventory stages, then the dedupe steps: what a checks-stage
    analyzer reads as ``ctx.distro`` and ``ctx.packages``. With ``reuse``, an analyzer whose
    recorded inputs are unchanged is not run (tree_reuse.py)."""
    # What the layer pass found, which the dedupe steps read besides the analyzers' results.
    before = inputs_digest(collected.packages, owned_digest_form(collected.owned_paths)) \
        if reuse is not None else ""
    for analyzer in early:
        if reuse is None:
            result = _run_tree(analyzer, view, ctx, failures)
        else:
            name = analyzer.spec.name
            # Its inputs besides the view: the distro (the context's other fields it may
            # read, the limits, are in the salt; a test holds it to those two).
            result = reuse.run(name, inputs_digest(ctx.distro),
                               partial(_run_tree, analyzer, ctx=ctx, failures=failures),
                               partial(failures.reasons.__contains__, name))
        _merge_tree(result, ctx, collected)
    _dedupe(view, collected, ctx, reuse, before)


def _merge_tree(result: AnalysisResult, ctx: AnalysisContext,
                collected: AnalysisResult) -> None:
    if result.distro is not None and ctx.distro is None:
        ctx.distro = result.distro
    ctx.packages.extend(result.packages)
    collected.merge(result)


def _run_tree(analyzer: TreeAnalyzer, view: Filesystem, ctx: AnalysisContext,
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


def _dedupe(view: SquashedView, collected: AnalysisResult, ctx: AnalysisContext,
            reuse: TreeReuse | None = None, before: str = "") -> None:
    """After the inventory stage: OS-owned files do not count twice (see ownership.py), and
    licenses are SPDX where they map (see licenses.py), and a lock file's entry folds into the
    installed package it names (see declared.py). Each step is guarded: a failure is a warning
    and the inventory stays as it was, never a lost scan. With ``reuse``, a recorded run on
    the same packages whose view queries still get the same answers is reused: the packages
    are the same when the layer pass's (digested as ``before``) and each inventory analyzer's
    result are."""
    packages, owned = collected.packages, collected.owned_paths
    if reuse is None:
        found, _ = _deduped(view, packages, owned)
    else:
        failed = False

        def run(fs: Filesystem) -> AnalysisResult:
            nonlocal failed
            # Reused results carry no owned paths (tree_reuse.TreeRecord): decoded only now.
            result, failed = _deduped(fs, packages, {**owned, **reuse.owned()})
            return result

        found = reuse.run("dedupe", reuse.results_digest(before), run, lambda: failed)
    collected.packages[:] = found.packages
    collected.warnings.extend(found.warnings)
    ctx.packages[:] = collected.packages
    # Read by nothing after this step: the cached inventory and whole result need not carry
    # them (~10k paths of a Debian image), and a rescan's are the same as a cold scan's.
    collected.owned_paths = {}


def _deduped(fs: Filesystem, packages: list[Package], owned: dict[str, frozenset[str]],
             ) -> tuple[AnalysisResult, bool]:
    """The dedupe steps' packages and warnings, and whether a step failed (its warning
    quotes an exception: such a run is not recorded)."""
    work = AnalysisResult(packages=list(packages), owned_paths=owned)
    warnings = work.warnings
    failed = False
    try:
        dropped = drop_os_owned(fs, work)
    except Exception as e:
        log.debug("ownership step failed", exc_info=True)
        warnings.append(Warning(message=f"OS ownership step failed: {e!r}"))
        failed = True
    else:
        if dropped:
            log.debug("%d language packages dropped: OS packages own their files", len(dropped))
    work.packages[:] = [_normalized(p, warnings) for p in work.packages]
    try:
        work.packages[:] = merge_declared(work.packages)
    except Exception as e:
        log.debug("declared/installed merge failed", exc_info=True)
        warnings.append(Warning(message=f"lock-file merge step failed: {e!r}"))
        failed = True
    return AnalysisResult(packages=work.packages, warnings=warnings), failed


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
