"""Decompress a layer blob as a stream, sniffed by magic bytes, guarded against bombs.

The media type is only a hint (some registries and tools lie); the first bytes decide.
The uncompressed bytes are hashed on the way through so the diff_id is verified for free.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import queue
import threading
import zlib
from collections.abc import Callable

import isal.igzip
import isal.isal_zlib
import zstandard

from portcullis.errors import (
    DigestMismatchError,
    LayerError,
    LimitExceededError,
    PortcullisError,
)
from portcullis.model.blob import Reader
from portcullis.model.digest import Digest

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
_QUEUE_CHUNKS = 4
_ISAL_ERROR: type[Exception] = isal.isal_zlib.error  # type: ignore[assignment]
_DECOMPRESSION_ERRORS = (EOFError, zlib.error, _ISAL_ERROR, OSError, ValueError,
                         zstandard.ZstdError)


class _Prefixed(io.RawIOBase):
    """Give back bytes already read for sniffing, then continue with the raw stream."""

    def __init__(self, head: bytes, raw: Reader) -> None:
        super().__init__()
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                rest = self._raw.read(-1 if size is None or size < 0 else size - len(head))
                return head + rest
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._raw.read(size)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sniff(head: bytes) -> str:
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _Inflater:
    """Raw blob → uncompressed bytes, counted against the limit and hashed. It holds no
    reference to the LayerStream, so that the producer thread does not keep an abandoned
    stream alive (its finalizer closes it, which stops the thread)."""

    def __init__(self, raw: Reader, *, diff_id: str | None, limit: int, what: str) -> None:
        self.raw = raw
        self.what = what
        self.limit = limit
        self.produced = 0
        head = _read_exact(raw, 4)
        self.compression = sniff(head)
        prefixed = _Prefixed(head, raw)
        self.inner: Reader
        if self.compression == "gzip":
            self.inner = isal.igzip.IGzipFile(fileobj=prefixed, mode="rb")  # type: ignore[no-untyped-call]
        elif self.compression == "zstd":
            self.inner = zstandard.ZstdDecompressor().stream_reader(
                prefixed,  # type: ignore[arg-type]
                read_across_frames=True,
                closefd=False,
            )
        else:
            self.inner = prefixed
        self.expected = Digest.parse(diff_id) if diff_id else None
        self.hasher = hashlib.new(self.expected.algorithm) if self.expected else None

    def read(self, size: int) -> bytes:
        """The next uncompressed bytes; b"" at the end, after draining ``raw`` (bytes after
        the compressed stream still belong to the blob digest)."""
        try:
            data = self.inner.read(size)
        except PortcullisError:
            raise
        except _DECOMPRESSION_ERRORS as e:
            raise LayerError(f"{self.what}: corrupt {self.compression} stream ({e})") from e
        if not data:
            while self.raw.read(_CHUNK):
                pass
            return data
        self.produced += len(data)
        if self.produced > self.limit:
            raise LimitExceededError("max_layer_bytes", self.limit, self.what)
        if self.hasher is not None:
            self.hasher.update(data)
        return data


class LayerStream(io.RawIOBase):
    """The uncompressed tar of one layer.

    Counts bytes against ``limit`` (the decompression-bomb guard) and, when ``diff_id`` is
    given, checks the uncompressed digest once ``finish()`` has drained the stream.

    With ``threaded`` (the default), reading the blob, inflating and hashing run on a
    background thread that stays up to ``_QUEUE_CHUNKS`` chunks of 1 MiB ahead, so that
    parsing the tar overlaps with inflating (isal, zstandard and hashlib release the GIL).
    An error of that thread is raised by the consumer's next ``read``, with the same type
    and message as without the thread. ``close()`` (or leaving a ``with`` block) stops the
    thread: call it on every path, before closing ``raw``.
    """

    def __init__(self, raw: Reader, *, diff_id: str | None, limit: int, what: str,
                 threaded: bool = True) -> None:
        super().__init__()
        self._source = _Inflater(raw, diff_id=diff_id, limit=limit, what=what)
        self.compression = self._source.compression
        self.total = 0
        self._producer = _Producer(self._source.read) if threaded else None
        self._chunk = b""
        self._chunk_pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        data = self._source.read(size) if self._producer is None else self._take(size)
        self.total += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._producer is None or self._chunk_pos >= len(self._chunk):
            data = self.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        # straight out of the current chunk: one copy, no intermediate bytes object
        n = min(len(buffer), len(self._chunk) - self._chunk_pos)
        buffer[:n] = memoryview(self._chunk)[self._chunk_pos : self._chunk_pos + n]
        self._chunk_pos += n
        self.total += n
        return n

    def finish(self) -> None:
        """Drain what the tar reader left (end blocks, padding) and check the diff_id."""
        while self.read(_CHUNK):
            pass
        if self._producer is not None:
            self._producer.stop()
        source = self._source
        if source.hasher is not None and source.expected is not None:
            got = source.hasher.hexdigest()
            if got != source.expected.hex:
                raise DigestMismatchError(
                    f"{source.what}: diff_id mismatch: config says {source.expected}, "
                    f"layer content is {source.expected.algorithm}:{got}"
                )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.stop()
        super().close()

    def _take(self, size: int) -> bytes:
        """Up to ``size`` bytes of the producer's chunks; a whole chunk without a copy."""
        assert self._producer is not None
        if self._chunk_pos >= len(self._chunk):
            self._chunk = self._producer.next()
            self._chunk_pos = 0
        if self._chunk_pos == 0 and size >= len(self._chunk):
            data, self._chunk = self._chunk, b""
            return data
        data = self._chunk[self._chunk_pos : self._chunk_pos + size]
        self._chunk_pos += len(data)
        return data


class _Producer:
    """Calls ``read(_CHUNK)`` on a daemon thread until it returns b"" or raises, and hands
    the chunks, then b"" or the exception, to ``next()`` through a bounded queue."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(_QUEUE_CHUNKS)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=_produce, name="portcullis-inflate",
                                        args=(read, self._queue, self._stopping), daemon=True)
        self._started = False
        self._ended = False
        self._failure: BaseException | None = None

    def next(self) -> bytes:
        """The next chunk; b"" at the end; raises what the thread raised (again if asked
        again)."""
        if self._failure is not None:
            raise self._failure
        if self._ended:
            return b""
        if not self._started:
            self._started = True
            self._thread.start()
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._failure = item
            raise item
        if not item:
            self._ended = True
        return item

    def stop(self) -> None:
        """Stop the thread and wait for it. It checks the flag between chunks; emptying the
        queue frees a put that waits for room."""
        if not self._started:
            return
        self._stopping.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._thread.join(timeout=0.05)


def _produce(read: Callable[[int], bytes], out: queue.Queue[bytes | BaseException],
             stopping: threading.Event) -> None:
    item: bytes | BaseException
    while not stopping.is_set():
        try:
            item = read(_CHUNK)
        except BaseException as e:  # raised again in the consumer's thread
            item = e
        while not stopping.is_set():
            try:
                out.put(item, timeout=0.05)
                break
            except queue.Full:
                continue
        if not isinstance(item, bytes) or not item:
            return


def _read_exact(raw: Reader, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = raw.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf
