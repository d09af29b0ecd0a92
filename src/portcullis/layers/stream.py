"""Decompress a layer blob as a stream, sniffed by magic bytes, guarded against bombs.

The media type is only a hint (some registries and tools lie); the first bytes decide.
The uncompressed bytes are hashed on the way through so the diff_id is verified for free.

The raw read (with the blob's hash, when the raw stream hashes) and the decompression run on
a second thread, ahead of the reader (the tar parser) by a few chunks: isal, zstandard, hashlib
and file reads release the GIL, so inflating overlaps with indexing. The tar's own digest is
taken on the reader's side as it takes each chunk (the parser waits for the inflater anyway:
that keeps the two threads' work about even). Whatever the thread raises reaches the reader
where a single-threaded read would have raised it: in order, after the bytes before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import queue
import threading
import zlib
from typing import Generic, TypeVar

import isal.igzip
import isal.isal_zlib
import msgspec
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
_READ = 512 << 10  # raw reads: what isal's gzip reader asks for at a time, taken whole
_AHEAD = 4  # chunks the thread may hold ready: bounds memory at about _AHEAD + 2 chunks
T = TypeVar("T")
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


class _End(msgspec.Struct):
    """The last item the thread hands over, with what draining the raw stream after the
    compressed data raised (given at ``finish()``, where it always was)."""

    error: BaseException | None = None


class _Stop(Exception):
    """The reader closed the stream early: the thread ends without a word."""


class _Handoff(Generic[T]):
    """Items handed from a thread to its reader, at most ``_AHEAD`` waiting (the memory
    bound). Once stopped, ``put`` and ``get`` raise ``_Stop`` instead of waiting."""

    def __init__(self) -> None:
        self._queue: queue.Queue[T] = queue.Queue(_AHEAD)
        self.stopped = threading.Event()

    def put(self, item: T) -> None:
        while not self.stopped.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        raise _Stop

    def get(self) -> T:
        while not self.stopped.is_set():
            try:
                return self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        raise _Stop

    def end(self, thread: threading.Thread) -> None:
        """Stop, and wait for ``thread`` (it may be blocked handing over an item)."""
        self.stopped.set()
        while thread.is_alive():
            self._drop_all()
            thread.join(0.01)
        self._drop_all()

    def _drop_all(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


class LayerStream(io.RawIOBase):
    """The uncompressed tar of one layer.

    Counts bytes against ``limit`` (the decompression-bomb guard) and, when ``diff_id`` is
    given, checks the uncompressed digest once ``finish()`` has drained the stream. ``raw`` is
    read on the stream's thread from the first read on; ``close()`` stops the thread (close
    ``raw`` only after that).
    """

    def __init__(self, raw: Reader, *, diff_id: str | None, limit: int, what: str) -> None:
        super().__init__()
        self._what = what
        self._limit = limit
        self.total = 0
        """Bytes of the tar handed to the reader so far."""
        head = _read_exact(raw, 4)
        self.compression = sniff(head)
        # The blob itself is read (and its digest checked) a few chunks ahead on a thread of
        # its own, so the inflating thread only inflates: it is the one the layer pass waits
        # for.
        self._ahead = _ReadAhead(raw, what)
        prefixed = _Prefixed(head, self._ahead)
        self._inner: Reader
        if self.compression == "gzip":
            self._inner = isal.igzip.IGzipFile(fileobj=prefixed, mode="rb")  # type: ignore[no-untyped-call]
        elif self.compression == "zstd":
            self._inner = zstandard.ZstdDecompressor().stream_reader(
                prefixed,  # type: ignore[arg-type]
                read_across_frames=True,
                closefd=False,
            )
        else:
            self._inner = prefixed
        self._expected = Digest.parse(diff_id) if diff_id else None
        self._hasher = hashlib.new(self._expected.algorithm) if self._expected else None
        self._handoff: _Handoff[bytes | _End | BaseException] = _Handoff()
        self._thread: threading.Thread | None = None
        self._chunk = memoryview(b"")
        self._end: _End | None = None
        self._error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self._chunk and not self._next():
            return b""
        n = len(self._chunk) if size is None or size < 0 else min(size, len(self._chunk))
        data = bytes(self._chunk[:n])
        self._chunk = self._chunk[n:]
        self.total += n
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._chunk and not self._next():
            return 0
        n = min(len(buffer), len(self._chunk))
        buffer[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        self.total += n
        return n

    def finish(self) -> None:
        """Drain what the tar reader left (end blocks, padding) and check the diff_id."""
        while self._next():
            self.total += len(self._chunk)
            self._chunk = memoryview(b"")
        end = self._end
        assert end is not None  # _next() returned False: the thread ended
        if end.error is not None:
            raise end.error
        if self._hasher is not None and self._expected is not None:
            got = self._hasher.hexdigest()
            if got != self._expected.hex:
                raise DigestMismatchError(
                    f"{self._what}: diff_id mismatch: config says {self._expected}, "
                    f"layer content is {self._expected.algorithm}:{got}"
                )

    def close(self) -> None:
        """Stop the thread (it may be ahead, or blocked handing over a chunk) and wait for it,
        so that the caller may close the raw stream."""
        if self._thread is not None:
            self._ahead.stop()  # the inflating thread may wait on it
            self._handoff.end(self._thread)
            self._thread = None
        self._ahead.close()
        super().close()

    # ------------------------------------------------------------------ the reader's side

    def _next(self) -> bool:
        """The next chunk into ``_chunk``; False at the end. Raises what the thread raised."""
        if self._error is not None:
            raise self._error
        if self._end is not None:
            return False
        if self._thread is None:
            self._start()
        item = self._handoff.get()
        if isinstance(item, bytes):
            if self._hasher is not None:
                self._hasher.update(item)
            self._chunk = memoryview(item)
            return True
        self._release()  # the thread has handed over its last item
        if isinstance(item, _End):
            self._end = item
            return False
        self._error = item
        raise item

    def _start(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed LayerStream")
        self._thread = threading.Thread(target=self._run, name=f"inflate {self._what}",
                                        daemon=True)
        self._thread.start()

    def _release(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # ------------------------------------------------------------------ the thread's side

    def _run(self) -> None:
        """The thread: every chunk, then the end (or the error, which is the end)."""
        item: _End | BaseException
        try:
            self._pump()
            item = _End(self._drain_raw())
        except _Stop:
            return
        except BaseException as e:  # handed to the reader, raised there
            item = e
        with contextlib.suppress(_Stop):
            self._handoff.put(item)

    def _drain_raw(self) -> BaseException | None:
        """Read the raw stream to its end: trailing garbage after the compressed stream still
        belongs to the blob digest (the source checks it at EOF). What that raises is the
        reader's at ``finish()``."""
        try:
            while self._ahead.read(_CHUNK):
                if self._handoff.stopped.is_set():
                    raise _Stop
        except _Stop:
            raise
        except BaseException as e:
            return e
        return None

    def _pump(self) -> None:
        """Inflate and count every chunk and hand it over."""
        total = 0
        while True:
            try:
                data = self._inner.read(_CHUNK)
            except PortcullisError:
                raise
            except _DECOMPRESSION_ERRORS as e:
                raise LayerError(f"{self._what}: corrupt {self.compression} stream ({e})") from e
            if not data:
                return
            total += len(data)
            if total > self._limit:
                raise LimitExceededError("max_layer_bytes", self._limit, self._what)
            self._handoff.put(data)


class _ReadAhead:
    """``raw`` read on its own thread, up to ``_AHEAD`` chunks ahead of the caller of
    ``read``. What reading ``raw`` raises (a short blob, a digest mismatch at its end) is
    raised by ``read`` where the bytes stop. Started by the first ``read``; ``close()`` stops
    and joins the thread, so ``raw`` may be closed after it."""

    def __init__(self, raw: Reader, what: str) -> None:
        self._raw = raw
        self._what = what
        self._handoff: _Handoff[bytes | BaseException | None] = _Handoff()
        self._thread: threading.Thread | None = None
        self._item = b""
        self._pos = 0
        self._eof = False
        self._error: BaseException | None = None

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        if self._pos >= len(self._item) and not self._take():
            return b""
        if self._pos == 0 and size >= len(self._item):
            data, self._item = self._item, b""  # the common case: no copy
            return data
        data = self._item[self._pos:self._pos + size]
        self._pos += len(data)
        return data

    def stop(self) -> None:
        self._handoff.stopped.set()

    def close(self) -> None:
        self._handoff.stopped.set()
        if self._thread is not None:
            self._handoff.end(self._thread)
            self._thread = None

    def _take(self) -> bool:
        """The next chunk into ``_item``; False at EOF. Raises what reading ``raw`` raised."""
        if self._error is not None:
            raise self._error
        if self._eof:
            return False
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"read {self._what}",
                                            daemon=True)
            self._thread.start()
        item = self._handoff.get()
        if item is None:
            self._eof = True
            return False
        if isinstance(item, BaseException):
            self._error = item
            raise item
        self._item, self._pos = item, 0
        return True

    def _run(self) -> None:
        item: bytes | BaseException | None
        try:
            while data := self._raw.read(_READ):
                self._handoff.put(data)
            item = None
        except _Stop:
            return
        except BaseException as e:  # raised by read(), in the reading thread
            item = e
        with contextlib.suppress(_Stop):
            self._handoff.put(item)


def _read_exact(raw: Reader, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = raw.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf
