"""Inflating a gzip'd image tarball to disk without letting a bomb fill the disk.

gzip cannot seek, so a ``docker save | gzip`` archive is written out once as a plain tar. The
copy is bounded as it goes, on two counts that any acceptable image meets anyway:

- one member (a layer blob, a config) may not be larger than the largest layer the scan would
  accept: compressed blobs are bounded by ``max_layer_size``, plain layer tars (legacy layout)
  by ``max_layer_bytes``, and a compressed blob is never much larger than what it holds;
- all members together may not be larger than the whole image may be (``max_image_size``,
  ``max_image_bytes``), plus room for the metadata documents.

A member's size is known from its header before its data is copied, so a 5 GB member stops
the copy at once. Bytes after the end-of-archive marker are never read: tar readers ignore them.
"""

from __future__ import annotations

import tarfile
from typing import BinaryIO, Protocol

import msgspec

from portcullis.errors import LimitExceededError
from portcullis.limits import ScanLimits

_CHUNK = 1 << 20

MAX_MEMBERS = 20_000
"""Most entries an image archive may hold. Real ones hold a few per layer (a docker save of
50 images of 20 layers: about 3,000); a tar of millions of empty entries is a memory bomb,
since every entry's header is kept to find files by name."""


class Bound(msgspec.Struct, frozen=True):
    """Stop past ``value`` bytes; the error names the user's ``limit`` and its ``setting``."""

    limit: str
    setting: int
    value: int

    def exceeded(self, where: str) -> LimitExceededError:
        return LimitExceededError(self.limit, self.setting, where)


class InflateBounds(msgspec.Struct, frozen=True):
    member: Bound
    total: Bound


def _with_overhead(n: int) -> int:
    """Room for compression overhead on incompressible data (gzip and zstd add well under 1%)."""
    return n + n // 64 + _CHUNK


def inflate_bounds(limits: ScanLimits) -> InflateBounds:
    member = min(
        Bound("max_layer_size", limits.max_layer_size, limits.max_layer_size),
        Bound("max_layer_bytes", limits.max_layer_bytes, _with_overhead(limits.max_layer_bytes)),
        key=lambda b: b.value,
    )
    if member.value < limits.max_metadata_size:
        member = Bound("max_metadata_size", limits.max_metadata_size, limits.max_metadata_size)
    total = min(
        Bound("max_image_size", limits.max_image_size, limits.max_image_size),
        Bound("max_image_bytes", limits.max_image_bytes, _with_overhead(limits.max_image_bytes)),
        key=lambda b: b.value,
    )
    # Configs, manifests and tar headers come on top of the layers.
    total = Bound(total.limit, total.setting, total.value + 8 * limits.max_metadata_size)
    return InflateBounds(member=member, total=total)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _CountingTee:
    """Reads from ``src``, writes what it read to ``dst``, stops past the total bound."""

    def __init__(self, src: Readable, dst: BinaryIO, bound: Bound, where: str) -> None:
        self._src = src
        self._dst = dst
        self._bound = bound
        self._where = where
        self.copied = 0

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size if size >= 0 else _CHUNK)
        self.copied += len(data)
        if self.copied > self._bound.value:
            raise self._bound.exceeded(self._where)
        self._dst.write(data)
        return data


def copy_tar_within(src: Readable, dst: BinaryIO, bounds: InflateBounds, where: str) -> int:
    """Copy the tar stream ``src`` to ``dst`` within ``bounds``; returns the bytes copied.

    Raises LimitExceededError at the first member or byte past a bound, and whatever the
    tar or decompression layers raise on corrupt input (tarfile.TarError, OSError, EOFError).
    """
    tee = _CountingTee(src, dst, bounds.total, where)
    with tarfile.open(fileobj=tee, mode="r|") as tar:  # type: ignore[call-overload]
        for count, member in enumerate(tar, 1):
            if count > MAX_MEMBERS:
                raise LimitExceededError("archive_members", MAX_MEMBERS, where)
            if member.size > bounds.member.value:
                raise bounds.member.exceeded(f"{where}: {member.name}")
            # A stream is read once: keeping every header would grow with the member count.
            tar.members.clear()
    return tee.copied
