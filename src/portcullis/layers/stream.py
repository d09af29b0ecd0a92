"""Decompress a layer blob as a stream, sniffed by magic bytes, guarded against bombs.

The media type is only a hint (some registries and tools lie); the first bytes decide.
The uncompressed bytes are hashed on the way through so the diff_id is verified for free.
"""

from __future__ import annotations

import hashlib
import io
import zlib

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


class LayerStream(io.RawIOBase):
    """The uncompressed tar of one layer.

    Counts bytes against ``limit`` (the decompression-bomb guard) and, when ``diff_id`` is
    given, checks the uncompressed digest once ``finish()`` has drained the stream.
    """

    def __init__(self, raw: Reader, *, diff_id: str | None, limit: int, what: str) -> None:
        super().__init__()
        self._raw = raw
        self._what = what
        self._limit = limit
        self.total = 0
        head = _read_exact(raw, 4)
        self.compression = sniff(head)
        prefixed = _Prefixed(head, raw)
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

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size if size is not None and size >= 0 else _CHUNK)
        except PortcullisError:
            raise
        except _DECOMPRESSION_ERRORS as e:
            raise LayerError(f"{self._what}: corrupt {self.compression} stream ({e})") from e
        if data:
            self.total += len(data)
            if self.total > self._limit:
                raise LimitExceededError("max_layer_bytes", self._limit, self._what)
            if self._hasher is not None:
                self._hasher.update(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> None:
        """Drain what the tar reader left (end blocks, padding) and check the diff_id."""
        while self.read(_CHUNK):
            pass
        # Trailing garbage after the compressed stream still belongs to the blob digest.
        while self._raw.read(_CHUNK):
            pass
        if self._hasher is not None and self._expected is not None:
            got = self._hasher.hexdigest()
            if got != self._expected.hex:
                raise DigestMismatchError(
                    f"{self._what}: diff_id mismatch: config says {self._expected}, "
                    f"layer content is {self._expected.algorithm}:{got}"
                )


def _read_exact(raw: Reader, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = raw.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf
