"""A reader that hashes what passes through it and checks the digest at EOF."""

from __future__ import annotations

import hashlib
import io

from portcullis.errors import DigestMismatchError, LimitExceededError
from portcullis.model.blob import Reader
from portcullis.model.digest import Digest


class VerifyingReader(io.RawIOBase):
    """Wrap ``raw``; raise ``DigestMismatchError`` when EOF is reached with a wrong hash.

    ``expected`` may be None (nothing to verify, only counting and the size limit apply).
    ``what`` names the blob in error messages.
    """

    def __init__(
        self,
        raw: Reader,
        expected: Digest | None,
        *,
        what: str,
        size_limit: int | None = None,
        limit_name: str = "max_layer_size",
        expected_size: int | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._expected = expected
        self._hasher = hashlib.new(expected.algorithm) if expected else None
        self._what = what
        self._limit = size_limit
        self._limit_name = limit_name
        self._expected_size = expected_size
        self.bytes_read = 0
        self._done = False
        # The blob's sha256 (hex), set at EOF once it matched a sha256 digest: a caller that
        # needs the hash of what it read (the layer cache) need not hash the bytes again.
        self.sha256: str | None = None

    @property
    def checks_sha256(self) -> bool:
        """Whether reading to EOF checks the bytes against a sha256 digest (and sets
        ``sha256``)."""
        return self._expected is not None and self._expected.algorithm == "sha256"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        if not data:
            self._finish()
            return b""
        self.bytes_read += len(data)
        if self._hasher is not None:
            self._hasher.update(data)
        if self._limit is not None and self.bytes_read > self._limit:
            raise LimitExceededError(self._limit_name, self._limit, self._what)
        return data

    def _finish(self) -> None:
        self._done = True
        if self._expected_size is not None and self.bytes_read != self._expected_size:
            raise DigestMismatchError(
                f"{self._what}: size mismatch: expected {self._expected_size} bytes, "
                f"got {self.bytes_read}"
            )
        if self._hasher is not None and self._expected is not None:
            got = self._hasher.hexdigest()
            if got != self._expected.hex:
                raise DigestMismatchError(
                    f"{self._what}: digest mismatch: expected {self._expected}, "
                    f"got {self._expected.algorithm}:{got}"
                )
            if self._expected.algorithm == "sha256":
                self.sha256 = got

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to EOF so the digest gets checked."""
        while self.read(chunk):
            pass

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()
