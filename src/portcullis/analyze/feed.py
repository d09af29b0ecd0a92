"""The layer pass, seen from the analyzers: which files' bytes are read, and who is fed them.

For each regular file of each layer the feed decides once whether a tree analyzer wants it
captured (spooled into the ContentStore) and which file analyzers accept it; then one read of
the tar stream feeds all of them, chunk by chunk. Results are kept per layer (the unit a layer
cache stores). An analyzer that raises on a file is reported as failed, with the file's path.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import time
from collections.abc import Sequence

import msgspec
from msgspec.structs import replace

from portcullis.analyze.base import AnalysisContext, AnalysisResult, FileAnalyzer, FileScan
from portcullis.layers.content import ContentStore, ContentWriter
from portcullis.layers.index import LayerIndex
from portcullis.model.files import FileKind, FileMeta, Location
from portcullis.model.finding import Warning

log = logging.getLogger(__name__)

_MAX_LINK_HOPS = 8  # tar writers link to the first name; a longer chain is hostile


def compile_globs(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in sorted(set(patterns))))


class Failures(msgspec.Struct):
    """Per analyzer: the first reason it failed, and the seconds it spent."""

    reasons: dict[str, str] = msgspec.field(default_factory=dict)
    seconds: dict[str, float] = msgspec.field(default_factory=dict)

    def fail(self, name: str, reason: str) -> None:
        self.reasons.setdefault(name, reason)

    def spent(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class _Interest(msgspec.Struct):
    capture: bool
    analyzers: list[FileAnalyzer]


class _Fanout:
    """One read of a file, fed to every interested analyzer and to the capture spool."""

    def __init__(self, feed: Feed, layer: int, meta: FileMeta,
                 scans: list[tuple[FileAnalyzer, FileScan]], spool: ContentWriter | None,
                 ) -> None:
        self._feed = feed
        self._layer = layer
        self._meta = meta
        self._scans = scans
        self._spool = spool

    def update(self, chunk: bytes) -> None:
        if self._spool is not None:
            self._spool.write(chunk)
        for pair in list(self._scans):
            analyzer, scan = pair
            started = time.perf_counter()
            try:
                scan.update(chunk)
            except Exception as e:  # one file must not sink the scan; the status says so
                self._scans.remove(pair)
                self._feed.failed(analyzer, self._meta, self._layer, e)
            finally:
                self._feed.failures.spent(analyzer.spec.name, started)

    def finish(self) -> None:
        if self._spool is not None and not self._spool.commit():
            self._feed.over_budget(self._meta, self._layer)
        for analyzer, scan in self._scans:
            started = time.perf_counter()
            try:
                result = scan.finish()
            except Exception as e:
                self._feed.failed(analyzer, self._meta, self._layer, e)
                continue
            finally:
                self._feed.failures.spent(analyzer.spec.name, started)
            self._feed.collect(analyzer, self._meta.path, result)


_NOTHING = AnalysisResult()  # compared with, never changed


class Feed:
    """The engine's ContentSink (see layers/index.py) for one scan."""

    def __init__(self, file_analyzers: Sequence[FileAnalyzer], capture: Sequence[str],
                 content: ContentStore, ctx: AnalysisContext,
                 defer_lower_links: bool = False) -> None:
        self._capture = compile_globs(capture)
        self._analyzers = [(a, compile_globs(a.spec.paths)) for a in file_analyzers]
        self._content = content
        self._ctx = ctx
        self.failures = Failures()
        self.result = AnalysisResult()
        # What the file analyzers made of each file of the layer being read, for a hard link
        # to it later in the layer: which analyzers finished it (a bit per analyzer: a small
        # int, no object per file) and, only where they found something, the result. One
        # empty result kept per file per analyzer was ~1 KB a file (and fragmented memory for
        # good) on 250,000 small files.
        self._finished: dict[str, int] = {}  # path → bits of the analyzers that finished it
        self._found: dict[str, dict[str, AnalysisResult]] = {}  # path → analyzer → result
        self._bit = {a.spec.name: 1 << i for i, a in enumerate(file_analyzers)}
        self._lower: list[LayerIndex] = []
        self.failed_files = 0  # how often an analyzer failed on a file (or its accepts())
        # In a worker process (analyze/parallel.py) the lower layers are not known: a hard
        # link whose target is not in this layer is kept here for the parent to replay.
        self._defer = defer_lower_links
        self.deferred_links: list[FileMeta] = []

    # per layer ---------------------------------------------------------------------------------

    def end_layer(self, index: LayerIndex) -> AnalysisResult:
        """What the file analyzers found in the layer just read; resets for the next one."""
        result, self.result = self.result, AnalysisResult()
        self._finished.clear()
        self._found.clear()
        self._lower.append(index)
        return result

    def replay_links(self, index: LayerIndex, links: Sequence[FileMeta]) -> AnalysisResult:
        """A layer read in a worker: its hard links into lower layers resolved here, where the
        lower layers are known; then the layer counts as read (see end_layer)."""
        for meta in links:
            self.link(index.layer, meta, index)
        return self.end_layer(index)

    def add_lower(self, index: LayerIndex) -> None:
        """A layer that was not read (its results came from the layer cache): hard links in
        the layers above may still name its files."""
        self._lower.append(index)

    def collect(self, analyzer: FileAnalyzer, path: str, result: AnalysisResult) -> None:
        self.result.merge(result)
        name = analyzer.spec.name
        self._finished[path] = self._finished.get(path, 0) | self._bit.get(name, 0)
        if result != _NOTHING:
            self._found.setdefault(path, {})[name] = result

    def failed(self, analyzer: FileAnalyzer, meta: FileMeta, layer: int, e: Exception) -> None:
        name = analyzer.spec.name
        self.failed_files += 1
        log.debug("analyzer %s failed on %s", name, meta.path, exc_info=True)
        reason = f"{type(e).__name__}: {e}"
        self.failures.fail(name, f"{meta.path} (layer {layer}): {reason}")
        self.warn(reason, meta.path, layer, name)

    def warn(self, message: str, path: str, layer: int, analyzer: str | None = None) -> None:
        self.result.warnings.append(
            Warning(message=message, path=path, layer=layer, analyzer=analyzer))

    def over_budget(self, meta: FileMeta, layer: int) -> None:
        total = self._ctx.limits.max_capture_total
        self.warn(f"file of {meta.size} bytes not captured: captured files already take "
                  f"{self._content.held} bytes of max_capture_total ({total}); not analyzed",
                  meta.path, layer)

    # decisions ---------------------------------------------------------------------------------

    def _interest(self, meta: FileMeta, layer: int) -> _Interest:
        capture = self._capture is not None and self._capture.match(meta.path) is not None
        limit = self._ctx.limits.max_capture_size
        if capture and meta.size > limit:
            self.warn(f"file of {meta.size} bytes is over max_capture_size ({limit}); "
                      "not analyzed", meta.path, layer)
            capture = False
        if capture and self._content.held + meta.size > self._ctx.limits.max_capture_total:
            self.over_budget(meta, layer)
            capture = False
        analyzers = []
        for analyzer, pattern in self._analyzers:
            if pattern is not None and not pattern.match(meta.path):
                continue
            try:
                accepted = analyzer.accepts(meta)
            except Exception as e:  # a bug in one analyzer fails that analyzer, not the scan
                self.failed(analyzer, meta, layer, e)
                continue
            if not accepted:
                continue
            most = analyzer.spec.max_file_size
            if most is not None and meta.size > most:
                self.warn(f"file of {meta.size} bytes is over the {analyzer.spec.name} "
                          f"analyzer's limit ({most}); not analyzed", meta.path, layer,
                          analyzer.spec.name)
                continue
            analyzers.append(analyzer)
        return _Interest(capture, analyzers)

    def _start(self, meta: FileMeta, layer: int, interest: _Interest) -> _Fanout | None:
        scans: list[tuple[FileAnalyzer, FileScan]] = []
        for analyzer in interest.analyzers:
            started = time.perf_counter()
            try:
                scan = analyzer.start(meta, layer, self._ctx)
            except Exception as e:
                self.failed(analyzer, meta, layer, e)
                continue
            finally:
                self.failures.spent(analyzer.spec.name, started)
            if scan is not None:
                scans.append((analyzer, scan))
        spool = (self._content.writer(layer, meta.path, self._ctx.limits.max_capture_total)
                 if interest.capture else None)
        if not scans and spool is None:
            return None
        return _Fanout(self, layer, meta, scans, spool)

    # ContentSink -------------------------------------------------------------------------------

    def open(self, layer: int, meta: FileMeta) -> _Fanout | None:
        if not self._analyzers and (self._capture is None
                                    or self._capture.match(meta.path) is None):
            return None  # most files, when no file analyzer runs: nothing to decide
        interest = self._interest(meta, layer)
        if not interest.capture and not interest.analyzers:
            return None
        return self._start(meta, layer, interest)

    def link(self, layer: int, meta: FileMeta, index: LayerIndex) -> None:
        """A hard link delivers its target's content: replayed from the capture store when it
        was captured, else what the same analyzers found in the target (read earlier in this
        layer) is reported again at the link's path. Only when neither is possible does the
        report say the link was not analyzed."""
        found = self._target(meta.linkname or "", index)
        if found is None and self._defer:
            self.deferred_links.append(meta)
            return
        if found is None:  # damage, not a reason to look away: say the link was not read
            self.warn(f"hard link to {meta.linkname}, which is not a regular file in this or "
                      "a lower layer; not analyzed", meta.path, layer)
            return
        target_layer, target = found
        as_file = replace(meta, kind=FileKind.FILE, size=target.size, linkname=None)
        interest = self._interest(as_file, layer)
        if not interest.capture and not interest.analyzers:
            return
        if self._content.has(target_layer, target.path):
            fanout = self._start(as_file, layer, interest)
            if fanout is not None:
                for chunk in self._content.chunks(target_layer, target.path):
                    fanout.update(chunk)
                fanout.finish()
            return
        if interest.capture:
            self.warn(f"hard link to {target.path}, whose content was not kept; not captured",
                      meta.path, layer)
        finished = self._finished.get(target.path, 0) if target_layer == layer else 0
        results = self._found.get(target.path, {}) if finished else {}
        for analyzer in interest.analyzers:
            name = analyzer.spec.name
            if finished & self._bit.get(name, 0):
                if name in results:
                    self.result.merge(relocate(results[name], target.path, meta.path))
            else:
                self.warn(f"hard link to {target.path}, whose content was not kept; "
                          "not analyzed", meta.path, layer, name)

    def _target(self, path: str, index: LayerIndex) -> tuple[int, FileMeta] | None:
        """The regular file a hard link names, following links to links a few hops."""
        for _ in range(_MAX_LINK_HOPS):
            found = self._entry(path, index)
            if found is None or found[1].kind is FileKind.FILE:
                return found
            if found[1].kind is not FileKind.HARDLINK or not found[1].linkname:
                return None
            path = found[1].linkname
        return None

    def _entry(self, path: str, index: LayerIndex) -> tuple[int, FileMeta] | None:
        meta = index.entries.get(path)
        if meta is not None:
            return index.layer, meta
        for lower in reversed(self._lower):
            meta = lower.entries.get(path)
            if meta is not None:
                return lower.layer, meta
            if path in lower.deleted:
                return None
        return None


def relocate(result: AnalysisResult, old: str, new: str) -> AnalysisResult:
    """The same results, found at ``new`` instead of ``old`` (a hard link's second name)."""

    def move(location: Location) -> Location:
        return replace(location, path=new) if location.path == old else location

    return AnalysisResult(
        packages=[replace(p, locations=tuple(move(loc) for loc in p.locations))
                  for p in result.packages],
        findings=[replace(f, path=new) if f.path == old else f for f in result.findings],
        warnings=[replace(w, path=new) if w.path == old else w for w in result.warnings],
    )
