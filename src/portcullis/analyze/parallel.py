"""Layers analysed in worker processes: the layer pass of one layer (inflate, verify, index,
file analyzers, captures) is independent of the others, so several run at once.

The parent reads each layer's blob once (hashing it: that is its cache identity) into a spool
file in the scan's temp dir and hands the file to a worker; so reading, or downloading from a
registry, overlaps with the analysis of the layers before. A worker sends back the layer's
index, results and captured files (msgpack), and the hard links whose target is in a lower
layer, which only the parent can resolve (it replays them in layer order, see engine.py).
Errors cross as (class name, message) and are raised again in the parent.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from portcullis import errors
from portcullis.analyze.base import (
    AnalysisContext,
    AnalysisResult,
    AnalyzerSettings,
    FileAnalyzer,
    TreeAnalyzer,
)
from portcullis.analyze.feed import Feed
from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.layers.content import ContentStore
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.limits import ScanLimits
from portcullis.model.files import FileMeta
from portcullis.model.image import ImageInfo

log = logging.getLogger(__name__)

_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = _CPU_MAX) -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup v2 CPU quota (a CI
    container limited to 2 CPUs on a 64-core host must not start 64 workers)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota != "max" and int(period) > 0:
            count = min(count, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def default_workers(cpu_max: Path = _CPU_MAX) -> int:
    """Worker processes when ``--parallel`` is not given: half the available CPUs. A layer read
    in one process already keeps two CPUs busy (the blob is read and inflated on threads of its
    own, which release the GIL, while the parser indexes; layers/stream.py), so one process per
    CPU only adds a spool copy and a fork per layer: on 2 CPUs the Debian test image scans
    ~15% faster in this process than with two workers (bench/README.md)."""
    return max(1, available_cpus(cpu_max) // 2)


class LayerJob(msgspec.Struct):
    analyzers: list[str]  # "module:qualname" of every analyzer, in the engine's order
    limits: ScanLimits
    image: ImageInfo
    now: datetime
    layer: int
    diff_id: str | None  # to verify; None when not checked
    blob_path: str
    temp_dir: str | None
    what: str
    # What the user configured for file analyzers (rule dirs, hash lists, clamd, secret
    # config): a worker's analyzers must see the same as the parent's.
    malware: MalwareSettings = msgspec.field(default_factory=MalwareSettings)
    settings: AnalyzerSettings = msgspec.field(default_factory=AnalyzerSettings)


class LayerDone(msgspec.Struct):
    index: LayerIndex
    result: AnalysisResult
    files: int
    captured: list[tuple[str, bytes]] = msgspec.field(default_factory=list)
    failures: dict[str, str] = msgspec.field(default_factory=dict)
    seconds: dict[str, float] = msgspec.field(default_factory=dict)
    failed_files: int = 0
    links: list[FileMeta] = msgspec.field(default_factory=list)  # hard links into lower layers
    error: tuple[str, str] | None = None  # (PortcullisError subclass, message)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(LayerDone)


def analyzer_path(analyzer: object) -> str:
    cls = type(analyzer)
    return f"{cls.__module__}:{cls.__qualname__}"


def _load(path: str) -> object:
    module, _, name = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found()


def analyze_layer(job: LayerJob) -> bytes:
    """The worker: one layer's pass, as the sequential engine does it."""
    try:
        done = _analyze(job)
    except errors.PortcullisError as e:
        done = LayerDone(index=LayerIndex(layer=job.layer), result=AnalysisResult(), files=0,
                         error=(type(e).__name__, str(e)))
    try:
        return b"M" + _encoder.encode(done)
    except (UnicodeEncodeError, msgspec.EncodeError):
        # A file name that is not UTF-8 (kept as surrogate escapes) has no msgpack form;
        # pickle (about 50 times slower on an index) carries it.
        import pickle  # only a worker's rare fallback, and its parent, import it

        return b"P" + pickle.dumps(done, protocol=pickle.HIGHEST_PROTOCOL)


def _analyze(job: LayerJob) -> LayerDone:
    analyzers = [_load(p) for p in job.analyzers]
    file_analyzers = [a for a in analyzers if isinstance(a, FileAnalyzer)]
    capture = [p for a in analyzers if isinstance(a, TreeAnalyzer) for p in a.spec.paths]
    ctx = AnalysisContext(image=job.image, limits=job.limits, now=job.now,
                          malware=job.malware, settings=job.settings)
    content = ContentStore(job.temp_dir)
    feed = Feed(file_analyzers, capture, content, ctx, defer_lower_links=True)
    counter = FileCounter(job.limits.max_files)
    try:
        # The parent hashed the blob while spooling it: here it is only inflated.
        with Path(job.blob_path).open("rb") as fh, \
                LayerStream(fh, diff_id=job.diff_id, limit=job.limits.max_layer_bytes,
                            what=job.what) as stream:
            index = index_layer(stream, job.layer, sink=feed, limits=job.limits,
                                counter=counter, what=job.what)
        result = feed.end_layer(index)
        # The parent's tree analyzers read them; they are within max_capture_total.
        captured = content.of_layer(job.layer, job.limits.max_capture_total) or []
        return LayerDone(index=index, result=result, files=counter.count,
                         captured=captured, failures=feed.failures.reasons,
                         seconds=feed.failures.seconds, failed_files=feed.failed_files,
                         links=feed.deferred_links)
    finally:
        content.close()


def decode_done(data: bytes) -> LayerDone:
    """The worker's answer; its error raised again here, as the same kind of error."""
    if data[:1] == b"M":
        done: LayerDone = _decoder.decode(memoryview(data)[1:])
    else:
        import pickle

        done = pickle.loads(data[1:])  # our own worker's bytes
    if done.error is not None:
        name, message = done.error
        cls = getattr(errors, name, errors.LayerError)
        if not (isinstance(cls, type) and issubclass(cls, errors.PortcullisError)):
            cls = errors.LayerError
        error = cls.__new__(cls)
        Exception.__init__(error, message)
        raise error
    return done


class LayerPool:
    """Worker processes for one scan. Forked when this process runs no other thread (no
    imports to repeat); otherwise started from a fork server (forking a process whose other
    threads may hold locks is unsafe)."""

    def __init__(self, workers: int) -> None:
        # Imported here: a scan of one layer, or with one worker, never loads multiprocessing.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if threading.active_count() == 1 else "forkserver"
        self._pool = ProcessPoolExecutor(max_workers=workers,
                                         mp_context=multiprocessing.get_context(method))

    def submit(self, job: LayerJob) -> Future[bytes]:
        return self._pool.submit(analyze_layer, job)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
