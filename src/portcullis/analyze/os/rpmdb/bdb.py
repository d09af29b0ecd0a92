"""rpm's Berkeley DB backend: the hash database ``Packages`` (RHEL/CentOS ≤ 8, Amazon Linux 2,
older SUSE and Fedora).

The file is a sequence of pages of one size. Page 0 is the hash metadata page: Berkeley DB's
generic 72-byte header (magic 0x061561 at offset 12, in the byte order of the machine that
wrote it: reading it tells which), then max_bucket and the ``spares`` table that maps a bucket
to its first page. Every page starts with a 26-byte header (own number, previous and next page,
entry count, free-area offset, level, type). A hash page (type 13, or 2 before DB 4.6) holds
an array of 2-byte offsets to items, in key/value pairs; an item is either on the page
(H_KEYDATA: a type byte, then the bytes up to the previous item) or a reference (H_OFFPAGE:
type, 3 pad bytes, first page, total length) to a chain of overflow pages (type 7), each
holding ``hf_offset`` bytes after its header. Bucket pages chain through ``next``.

rpm stores one record per package: key = its instance number (4 bytes, writer's byte order),
value = the header blob; the record with key 0 holds the highest instance number so far.
"""

from __future__ import annotations

import struct

from portcullis.analyze.os.rpmdb.header import RpmdbError

HASH_MAGIC = 0x061561
_META_SIZE = 512
_PAGE_HEADER = 26
_PG_CHKSUM = 6  # alignment + 4-byte checksum after the page header when checksums are on
_P_INVALID = 0
_P_HASH_UNSORTED = 2
_P_OVERFLOW = 7
_P_HASHMETA = 8
_P_HASH = 13
_H_KEYDATA = 1
_H_DUPLICATE = 2
_H_OFFPAGE = 3
_H_OFFDUP = 4
_DBMETA_CHKSUM = 0x01
_NCACHED = 32
_PAGE_SIZES = frozenset(1 << n for n in range(9, 17))  # 512 ... 65536


class BdbError(RpmdbError):
    """The Berkeley DB rpmdb is not readable."""


def byte_order(data: bytes) -> str | None:
    """``<`` or ``>`` for a Berkeley DB hash file, None for anything else."""
    if len(data) < 16:
        return None
    for order in ("<", ">"):
        if struct.unpack_from(f"{order}I", data, 12)[0] == HASH_MAGIC:
            return order
    return None


def is_bdb(data: bytes) -> bool:
    return byte_order(data) is not None


class _Reader:
    def __init__(self, data: bytes) -> None:
        order = byte_order(data)
        if order is None:
            raise BdbError("not a Berkeley DB hash database (bad magic)")
        if len(data) < _META_SIZE:
            raise BdbError(f"Berkeley DB truncated to {len(data)} bytes")
        self.data = data
        self.order = order
        pagesize, encrypt, kind, metaflags = struct.unpack_from(f"{order}IBBB", data, 20)
        if kind != _P_HASHMETA:
            raise BdbError(f"Berkeley DB metadata page has type {kind}, not hash")
        if pagesize not in _PAGE_SIZES:
            raise BdbError(f"Berkeley DB page size {pagesize} is not valid")
        if encrypt:
            raise BdbError("Berkeley DB is encrypted")
        self.pagesize = pagesize
        self.overhead = _PAGE_HEADER + (_PG_CHKSUM if metaflags & _DBMETA_CHKSUM else 0)
        (self.last_pgno,) = struct.unpack_from(f"{order}I", data, 32)
        self.pages = len(data) // pagesize
        (self.max_bucket,) = struct.unpack_from(f"{order}I", data, 72)
        self.spares = struct.unpack_from(f"{order}{_NCACHED}I", data, 96)
        self._header = struct.Struct(f"{order}IIIHHBB")
        self._offpage = struct.Struct(f"{order}II")

    def page(self, pgno: int) -> tuple[int, int, int, int, int]:
        """(pgno, next pgno, entries, hf_offset, type) of a page inside the file."""
        if pgno >= self.pages:
            raise BdbError(f"page {pgno} lies past the end of the file (truncated?)")
        own, _prev, nxt, entries, hf_offset, _level, kind = self._header.unpack_from(
            self.data, pgno * self.pagesize + 8
        )
        return own, nxt, entries, hf_offset, kind

    def bucket_pages(self) -> list[int]:
        """First page of every bucket: BS_TO_PAGE(b) = b + spares[ceil(log2(b + 1))]."""
        if self.max_bucket >= self.pages * 2:
            raise BdbError(f"Berkeley DB claims {self.max_bucket + 1} buckets in "
                           f"{self.pages} pages")
        return [bucket + self.spares[(bucket).bit_length()] for bucket in
                range(self.max_bucket + 1)]

    def items(self, pgno: int, entries: int) -> list[bytes]:
        """The raw items of a hash page, each from its offset to the previous item's."""
        base = pgno * self.pagesize
        if self.overhead + 2 * entries > self.pagesize:
            raise BdbError(f"page {pgno} claims {entries} items")
        offsets = struct.unpack_from(f"{self.order}{entries}H", self.data,
                                     base + self.overhead)
        items: list[bytes] = []
        end = self.pagesize
        for offset in offsets:
            if not self.overhead + 2 * entries <= offset < end:
                raise BdbError(f"page {pgno}: item offset {offset} out of place")
            items.append(self.data[base + offset:base + end])
            end = offset
        return items

    def value(self, item: bytes, where: str) -> bytes | None:
        """The bytes of a key or value item; None for kinds rpm does not write."""
        kind = item[0]
        if kind == _H_KEYDATA:
            return item[1:]
        if kind == _H_OFFPAGE:
            if len(item) < 12:
                raise BdbError(f"{where}: short off-page reference")
            first, total = self._offpage.unpack_from(item, 4)
            return self.overflow(first, total, where)
        if kind in (_H_DUPLICATE, _H_OFFDUP):
            return None
        raise BdbError(f"{where}: unknown item type {kind}")

    def overflow(self, first: int, total: int, where: str) -> bytes:
        chunks: list[bytes] = []
        length = 0
        pgno = first
        seen: set[int] = set()
        while pgno and length < total:
            if pgno in seen:
                raise BdbError(f"{where}: overflow chain loops at page {pgno}")
            seen.add(pgno)
            _own, nxt, _refs, used, kind = self.page(pgno)
            if kind != _P_OVERFLOW:
                raise BdbError(f"{where}: page {pgno} in an overflow chain has type {kind}")
            if used > self.pagesize - self.overhead:
                raise BdbError(f"{where}: overflow page {pgno} claims {used} bytes")
            start = pgno * self.pagesize + self.overhead
            chunks.append(self.data[start:start + used])
            length += used
            pgno = nxt
        if length < total:
            raise BdbError(f"{where}: overflow chain ends after {length} of {total} bytes")
        return b"".join(chunks)[:total]


def read_blobs(data: bytes) -> tuple[list[bytes], list[str]]:
    """Header blobs bucket by bucket, and a message per record that could not be read."""
    reader = _Reader(data)
    blobs: list[bytes] = []
    problems: list[str] = []
    visited: set[int] = set()
    for first in reader.bucket_pages():
        pgno = first
        while pgno:
            if pgno in visited:
                problems.append(f"bucket chain revisits page {pgno}; rest of the chain skipped")
                break
            visited.add(pgno)
            if pgno > reader.last_pgno:
                break  # a bucket Berkeley DB has not written yet: empty
            try:
                _own, nxt, entries, _hf, kind = reader.page(pgno)
            except BdbError as e:
                problems.append(str(e))
                break
            if kind == _P_INVALID and entries == 0:
                break  # an allocated but never used bucket page
            if kind not in (_P_HASH, _P_HASH_UNSORTED):
                problems.append(f"page {pgno} in a bucket chain has type {kind}; skipped")
                break
            _records(reader, pgno, entries, blobs, problems)
            pgno = nxt
    return blobs, problems


def _records(reader: _Reader, pgno: int, entries: int, blobs: list[bytes],
             problems: list[str]) -> None:
    try:
        items = reader.items(pgno, entries)
    except BdbError as e:
        problems.append(str(e))
        return
    if len(items) % 2:
        problems.append(f"page {pgno} has an odd number of items ({len(items)})")
    for pair in range(0, len(items) - 1, 2):
        where = f"page {pgno} record {pair // 2}"
        try:
            key = reader.value(items[pair], where)
            if key is not None and len(key) == 4 and key == b"\0\0\0\0":
                continue  # rpm's record 0: the highest instance number, not a package
            value = reader.value(items[pair + 1], where)
        except BdbError as e:
            problems.append(str(e))
            continue
        if value is None:
            problems.append(f"{where}: duplicate items are not used by rpm; skipped")
            continue
        blobs.append(value)
