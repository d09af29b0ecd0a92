"""rpm's native NDB backend (``Packages.db``; SUSE since SLE 15 SP3 / openSUSE).

All integers are little-endian. The file starts with slot pages of 4096 bytes. Page 0 opens
with a 32-byte header: magic ``RpmP``, format version 0, generation, number of slot pages,
next package index. The rest of the slot pages is an array of 16-byte slots: magic ``Slot``,
package index, block offset, block count (a block is 16 bytes; offset 0 marks a free slot).
Each used slot points at a blob: a 16-byte head (magic ``BlbS``, package index, timestamp,
blob length), the header blob, zero padding to the block count, and a 12-byte tail (Adler-32
of everything before it, blob length, magic ``BlbE``).
"""

from __future__ import annotations

import struct
import zlib

from portcullis.analyze.os.rpmdb.header import RpmdbError

MAGIC = b"RpmP"
_SLOT_MAGIC = b"Slot"
_BLOB_HEAD_MAGIC = b"BlbS"
_BLOB_TAIL_MAGIC = b"BlbE"
PAGE_SIZE = 4096
SLOT_SIZE = 16
BLOCK_SIZE = 16
_HEADER_SIZE = 32
_HEAD = 16
_TAIL = 12


class NdbError(RpmdbError):
    """The NDB rpmdb is not readable."""


def is_ndb(data: bytes) -> bool:
    return data[:4] == MAGIC


def read_blobs(data: bytes) -> tuple[list[bytes], list[str]]:
    """Header blobs in block order (as rpm lists them), and a message per broken slot."""
    if not is_ndb(data):
        raise NdbError("not an NDB Packages.db (bad magic)")
    if len(data) < _HEADER_SIZE:
        raise NdbError(f"NDB Packages.db truncated to {len(data)} bytes")
    version, _generation, slot_pages, _next = struct.unpack_from("<IIII", data, 4)
    if version != 0:
        raise NdbError(f"NDB format version {version} is not supported")
    if slot_pages == 0 or slot_pages * PAGE_SIZE > len(data):
        raise NdbError(f"NDB header claims {slot_pages} slot pages in {len(data)} bytes")
    total_blocks = len(data) // BLOCK_SIZE
    first_block = slot_pages * (PAGE_SIZE // BLOCK_SIZE)
    slots: list[tuple[int, int, int]] = []  # (block offset, block count, package index)
    problems: list[str] = []
    for number, (magic, pkgidx, blkoff, blkcnt) in enumerate(
        struct.iter_unpack("<4sIII", data[_HEADER_SIZE:slot_pages * PAGE_SIZE])
    ):
        if magic != _SLOT_MAGIC:
            raise NdbError(f"NDB slot {number} has bad magic {magic!r}")
        if blkoff == 0:
            continue  # free slot
        if pkgidx == 0 or blkcnt == 0 or blkoff < first_block:
            problems.append(f"NDB slot {number} is invalid (package {pkgidx}, block {blkoff}, "
                            f"{blkcnt} blocks); skipped")
        elif blkoff + blkcnt > total_blocks:
            problems.append(f"NDB package {pkgidx} lies past the end of the file (truncated?); "
                            "skipped")
        else:
            slots.append((blkoff, blkcnt, pkgidx))
    blobs: list[bytes] = []
    for blkoff, blkcnt, pkgidx in sorted(slots):
        try:
            blobs.append(_blob(data, blkoff, blkcnt, pkgidx))
        except NdbError as e:
            problems.append(f"{e}; skipped")
    return blobs, problems


def _blob(data: bytes, blkoff: int, blkcnt: int, pkgidx: int) -> bytes:
    start = blkoff * BLOCK_SIZE
    end = start + blkcnt * BLOCK_SIZE
    if blkcnt * BLOCK_SIZE < _HEAD + _TAIL:
        raise NdbError(f"NDB package {pkgidx}: {blkcnt} blocks cannot hold a blob")
    magic, owner, _stamp, length = struct.unpack_from("<4sIII", data, start)
    if magic != _BLOB_HEAD_MAGIC or owner != pkgidx:
        raise NdbError(f"NDB package {pkgidx}: bad blob head")
    if blkcnt != (_HEAD + length + _TAIL + BLOCK_SIZE - 1) // BLOCK_SIZE:
        raise NdbError(f"NDB package {pkgidx}: blob length {length} does not fit {blkcnt} blocks")
    checksum, tail_length, tail_magic = struct.unpack_from("<II4s", data, end - _TAIL)
    if tail_magic != _BLOB_TAIL_MAGIC or tail_length != length:
        raise NdbError(f"NDB package {pkgidx}: bad blob tail")
    if zlib.adler32(data[start:end - _TAIL]) != checksum:
        raise NdbError(f"NDB package {pkgidx}: checksum mismatch")
    return data[start + _HEAD:start + _HEAD + length]
