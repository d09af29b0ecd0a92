"""The sha256 of several layer blobs, read to their ends, on a few threads at once.

Before a cached result is used, the blobs it was made from are hashed again (see
layer_cache.py: an entry is served only for bytes hashed in this scan). hashlib and file reads
release the GIL, so on an image whose layers are separate files (an OCI layout or a docker
archive unpacked in a folder: the image says so with ``concurrent_reads``) the blobs are hashed
in parallel. Other sources (one tar holding every blob, a registry) read them one by one.
Memory: one chunk per thread. A source that checks a sha256 digest while the blob is read
reports the hash it computed, so such a blob is hashed once, not twice.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from portcullis.model.blob import Image
from portcullis.model.image import LayerRef
from portcullis.progress import Progress

MAX_THREADS = 4
SWITCH_INTERVAL = 0.0005  # seconds, while the hashing thread runs (see HashAhead._run)
CHUNK = 4 << 20  # big reads: the hashing thread takes the GIL once per chunk, and the
# main thread, busy importing, hands it over only every switch interval (5 ms)


def hash_blobs(image: Image, layers: Sequence[LayerRef], progress: Progress) -> list[str]:
    """The sha256 (hex) of each layer's raw blob, in the order of ``layers``. Errors of the
    source (a missing blob, a digest mismatch at EOF) propagate."""
    threads = min(MAX_THREADS, os.cpu_count() or 1, len(layers))
    if threads <= 1 or getattr(image, "concurrent_reads", False) is not True:
        return [_hash_one(image, layer, progress) for layer in layers]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="blob-hash") as pool:
        return list(pool.map(lambda layer: _hash_one(image, layer, progress), layers))


def _hash_one(image: Image, layer: LayerRef, progress: Progress) -> str:
    found = _sha256(image, layer, progress, None)
    assert found is not None  # only a stop event makes it None
    return found


def _sha256(image: Image, layer: LayerRef, progress: Progress,
            stopping: threading.Event | None) -> str | None:
    """The sha256 of the layer's raw blob, read to its end (so the source checks what it checks
    at EOF); None when ``stopping`` was set before the end."""
    key = f"layer-{layer.index}"
    progress.start(key, f"layer {layer.index + 1}/{len(image.info.layers)}", layer.size)
    raw = image.open_layer(layer)
    try:
        # A source that checks the bytes against a sha256 digest as they are read (it raises
        # on a mismatch at the end) hands over their hash: hashed once, in this scan.
        checked = getattr(raw, "checks_sha256", False) is True
        hasher = None if checked else hashlib.sha256()
        while chunk := raw.read(CHUNK):
            if hasher is not None:
                hasher.update(chunk)
            if stopping is not None and stopping.is_set():
                return None
        if hasher is not None:
            return hasher.hexdigest()
        found = getattr(raw, "sha256", None)
        if not isinstance(found, str):
            raise RuntimeError(f"layer {layer.index}: the source did not report the blob hash")
        return found
    finally:
        raw.close()
        progress.finish(key)


class HashAhead:
    """The blobs' sha256, computed bottom-up on a background thread from the moment the image
    is open, while the scan is still starting (importing its analyzers, loading rules): a
    rescan that serves layers from the cache then finds their hashes ready instead of hashing
    ~70 MB after start-up (~0.07 s of a 0.5 s rescan of the Debian test image).

    Only for images whose blobs are separate files (``concurrent_reads``). Each blob is
    claimed once, by the thread (bottom-up) or by ``take`` (top-down, for the layers it needs
    that the thread has not reached), so none is hashed twice. ``stop`` is called when the
    first layer is read for real (a cold scan hashes a layer while reading it, and the thread
    must not compete with the read) and, in any case, before the image closes.
    """

    def __init__(self, image: Image, progress: Progress) -> None:
        self._image = image
        self._progress = progress
        self._lock = threading.Condition()
        self._claimed: set[int] = set()
        self._done: dict[int, str | BaseException] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blob-hash-ahead", daemon=True)

    @classmethod
    def start(cls, image: Image, progress: Progress) -> HashAhead | None:
        if getattr(image, "concurrent_reads", False) is not True or not image.info.layers:
            return None
        ahead = cls(image, progress)
        ahead._thread.start()
        return ahead

    def _claim(self, layer: LayerRef) -> bool:
        with self._lock:
            if layer.index in self._claimed:
                return False
            self._claimed.add(layer.index)
            return True

    def _record(self, layer: LayerRef, found: str | BaseException | None) -> None:
        with self._lock:
            if found is None:  # stopped part-way: another may hash it
                self._claimed.discard(layer.index)
            else:
                self._done[layer.index] = found
            self._lock.notify_all()

    def _run(self) -> None:
        # The main thread is busy in Python (imports) meanwhile, and hands the GIL over only
        # every switch interval (5 ms), twice per chunk (after the read, after the hash): the
        # 63 MB base layer of the Debian image took 130 ms instead of 65. A shorter interval
        # while this thread runs lets it take the GIL back at once.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
        try:
            self._hash_all()
        finally:
            if sys.getswitchinterval() == min(interval, SWITCH_INTERVAL):
                sys.setswitchinterval(interval)

    def _hash_all(self) -> None:
        for layer in self._image.info.layers:
            if self._stopping.is_set():
                return
            if not self._claim(layer):
                continue
            found: str | BaseException | None
            try:
                found = self._hash(layer, self._stopping)
            except BaseException as e:  # handed to whoever asks for this layer's hash
                found = e
            self._record(layer, found)
            if not isinstance(found, str):
                return

    def _hash(self, layer: LayerRef, stopping: threading.Event | None) -> str | None:
        return _sha256(self._image, layer, self._progress, stopping)

    def stop(self) -> None:
        """Stop hashing (a blob in hand is dropped) and wait for the thread to end."""
        self._stopping.set()
        self._thread.join()

    def take(self, layers: Sequence[LayerRef]) -> list[str]:
        """The sha256 of each layer's blob, as ``hash_blobs`` gives them (a source error is
        raised for the layer it happened on). Blobs the thread has not claimed are hashed here,
        top-down, while it goes on bottom-up."""
        for layer in reversed(layers):
            if layer.index not in self._done and self._claim(layer):
                found: str | BaseException | None
                try:
                    found = self._hash(layer, None)
                except BaseException as e:
                    found = e
                self._record(layer, found)
        out: list[str] = []
        for layer in layers:
            found = self._wait(layer)
            if isinstance(found, BaseException):
                raise found
            out.append(found)
        return out

    def _wait(self, layer: LayerRef) -> str | BaseException:
        with self._lock:
            while layer.index not in self._done:
                if layer.index not in self._claimed:  # the thread stopped before it
                    self._claimed.add(layer.index)
                    break
                self._lock.wait()
            else:
                return self._done[layer.index]
        try:
            found: str | BaseException | None = self._hash(layer, None)
        except BaseException as e:
            found = e
        self._record(layer, found)
        return self._done[layer.index]
