"""One RPM header blob as the package databases store it.

Layout (all integers big-endian): ``il`` (number of index entries) and ``dl`` (bytes of data),
then ``il`` index entries of 16 bytes each (tag, type, offset into the data store, count),
then the data store. Headers written by rpm ≥ 4.0.1 open with a region tag (63, the immutable
header of the package) whose entries come first; entries rpm added at install time follow
("dribble") and replace a region entry with the same tag, as rpm itself reads them. Headers
taken from a package file or an ``--exportdb`` stream carry an 8-byte magic in front, which
is skipped.

Every offset and count is checked before it is used: a truncated or hostile blob raises
:class:`HeaderError`, never an ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

import struct

import msgspec

from portcullis.errors import AnalyzerError

# Tags (rpm's lib/rpmtag.h).
NAME = 1000
VERSION = 1001
RELEASE = 1002
EPOCH = 1003
SIZE = 1009
VENDOR = 1011
LICENSE = 1014
ARCH = 1022
FILENAMES = 1027  # before rpm 4.0 (CompressedFileNames)
SOURCERPM = 1044
DIRINDEXES = 1116
BASENAMES = 1117
DIRNAMES = 1118
LONGSIZE = 5009
FILEDIGESTALGO = 5011
MODULARITYLABEL = 5096

# Data types.
NULL = 0
CHAR = 1
INT8 = 2
INT16 = 3
INT32 = 4
INT64 = 5
STRING = 6
BIN = 7
STRING_ARRAY = 8
I18NSTRING = 9

_FIXED = {CHAR: ("B", 1), INT8: ("B", 1), INT16: ("H", 2), INT32: ("I", 4), INT64: ("Q", 8)}
_STRINGS = frozenset({STRING, STRING_ARRAY, I18NSTRING})

MAGIC = b"\x8e\xad\xe8\x01"
MAX_ENTRIES = 0xFFFF  # rpm refuses headers with more tags than this
MAX_DATA = 0x0FFFFFFF  # rpm's upper bound for a header's data store (256 MiB)
MAX_STRINGS = 1 << 20  # strings in one tag: far above any real file list, bounds memory

# rpm's PGPHASHALGO_* numbers, as FILEDIGESTALGO holds them; MD5 when the tag is absent.
DIGEST_ALGORITHMS = {
    1: "md5",
    2: "sha1",
    3: "ripemd160",
    5: "md2",
    6: "tiger192",
    7: "haval-5-160",
    8: "sha256",
    9: "sha384",
    10: "sha512",
    11: "sha224",
}


class RpmdbError(AnalyzerError, ValueError):
    """An rpm database or one of its records that cannot be read."""


class HeaderError(RpmdbError):
    """A header blob that is truncated or inconsistent."""


class _Entry(msgspec.Struct, frozen=True):
    type: int
    offset: int
    count: int


def _check_bounds(tag: int, kind: int, offset: int, count: int, dl: int) -> None:
    """What rpm checks of an index entry: its data lies inside the store (each string takes
    at least its terminating NUL)."""
    if offset >= dl:
        raise HeaderError(f"tag {tag} points at offset {offset} past {dl} bytes of data")
    if kind in _FIXED:
        needed = _FIXED[kind][1] * count
    elif kind == STRING and count != 1:
        raise HeaderError(f"tag {tag} is a STRING with count {count}")
    elif kind in _STRINGS:
        if count > MAX_STRINGS:
            raise HeaderError(f"tag {tag} claims {count} strings")
        needed = count
    else:
        needed = count  # BIN: bytes
    if offset + needed > dl:
        raise HeaderError(f"tag {tag}: {count} values run past {dl} bytes of data")


class Header:
    """The index of one header; values are decoded only when asked for."""

    __slots__ = ("_data", "_entries")

    def __init__(self, blob: bytes) -> None:
        if blob[:4] == MAGIC:
            blob = blob[8:]
        if len(blob) < 8:
            raise HeaderError(f"header of {len(blob)} bytes is shorter than its 8-byte intro")
        il, dl = struct.unpack_from(">II", blob, 0)
        if il == 0 or il > MAX_ENTRIES:
            raise HeaderError(f"header claims {il} index entries")
        if dl > MAX_DATA:
            raise HeaderError(f"header claims {dl} bytes of data")
        start = 8 + 16 * il
        if len(blob) < start + dl:
            raise HeaderError(
                f"header truncated: {len(blob)} bytes, {start + dl} needed for {il} entries "
                f"and {dl} bytes of data"
            )
        self._data = blob[start:start + dl]
        entries: dict[int, _Entry] = {}
        for tag, kind, offset, count in struct.iter_unpack(">IIII", blob[8:start]):
            if kind > I18NSTRING:
                raise HeaderError(f"tag {tag} has unknown type {kind}")
            if kind != NULL and count:
                _check_bounds(tag, kind, offset, count, dl)
            entries[tag] = _Entry(kind, offset, count)  # later entries win, as in rpm
        self._entries = entries

    def __contains__(self, tag: int) -> bool:
        return tag in self._entries

    @property
    def tags(self) -> frozenset[int]:
        return frozenset(self._entries)

    def count(self, tag: int) -> int:
        entry = self._entries.get(tag)
        return entry.count if entry is not None else 0

    def _entry(self, tag: int, kinds: frozenset[int]) -> _Entry | None:
        entry = self._entries.get(tag)
        if entry is None:
            return None
        if entry.type not in kinds:
            raise HeaderError(f"tag {tag} has type {entry.type}, expected one of {sorted(kinds)}")
        return entry

    def strings(self, tag: int) -> tuple[str, ...]:
        """A STRING, STRING_ARRAY or I18NSTRING value (all translations of the latter)."""
        entry = self._entry(tag, _STRINGS)
        if entry is None or entry.count == 0:
            return ()
        parts = self._data[entry.offset:].split(b"\0", entry.count)
        if len(parts) <= entry.count:
            raise HeaderError(f"tag {tag}: {entry.count} strings run past the data store")
        return tuple(p.decode("utf-8", "replace") for p in parts[:entry.count])

    def string(self, tag: int) -> str | None:
        """The first (for I18NSTRING: untranslated) string of a tag, or None if absent."""
        values = self.strings(tag)
        return values[0] if values else None

    def integers(self, tag: int) -> tuple[int, ...]:
        entry = self._entry(tag, frozenset(_FIXED))
        if entry is None or entry.count == 0:
            return ()
        code, size = _FIXED[entry.type]
        end = entry.offset + size * entry.count
        if end > len(self._data):
            raise HeaderError(f"tag {tag}: {entry.count} integers run past the data store")
        return struct.unpack_from(f">{entry.count}{code}", self._data, entry.offset)

    def integer(self, tag: int) -> int | None:
        values = self.integers(tag)
        return values[0] if values else None

    def files(self) -> tuple[str, ...]:
        """Installed paths: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], or the old FILENAMES."""
        basenames = self.strings(BASENAMES)
        if not basenames:
            return self.strings(FILENAMES)
        dirnames = self.strings(DIRNAMES)
        indexes = self.integers(DIRINDEXES)
        if len(indexes) != len(basenames):
            raise HeaderError(f"{len(basenames)} basenames but {len(indexes)} dir indexes")
        try:
            return tuple(dirnames[i] + base for i, base in zip(indexes, basenames, strict=True))
        except IndexError as e:
            raise HeaderError(f"a dir index is out of range of {len(dirnames)} dirnames") from e


NevraKey = tuple[str, int | None, str, str, str]  # (name, epoch, version, release, arch)


class RpmPackage(msgspec.Struct, frozen=True, kw_only=True):
    """What the analyzers use of one installed package's header."""

    name: str
    epoch: int | None
    version: str
    release: str
    arch: str
    source_rpm: str | None = None
    license: str | None = None
    vendor: str | None = None
    size: int | None = None
    modularity_label: str | None = None
    digest_algorithm: str | None = None
    files: tuple[str, ...] = ()

    @property
    def key(self) -> NevraKey:
        return (self.name, self.epoch, self.version, self.release, self.arch)

    @property
    def evr(self) -> str:
        """``[epoch:]version-release``; epoch 0 is left out, as rpm compares it equal to none."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


def nevra_key(header: Header) -> NevraKey:
    name = header.string(NAME)
    if not name:
        raise HeaderError("header has no NAME")
    return (name, header.integer(EPOCH), header.string(VERSION) or "",
            header.string(RELEASE) or "", header.string(ARCH) or "")


def read_package(header: Header) -> RpmPackage:
    """The fields of an installed package; raises HeaderError for a header without NAME."""
    name, epoch, version, release, arch = nevra_key(header)
    size = header.integer(LONGSIZE)
    if size is None:
        size = header.integer(SIZE)
    files = header.files()
    algorithm = None
    if files:
        number = header.integer(FILEDIGESTALGO) or 1
        algorithm = DIGEST_ALGORITHMS.get(number, str(number))
    return RpmPackage(
        name=name,
        epoch=epoch,
        version=version,
        release=release,
        arch=arch,
        source_rpm=header.string(SOURCERPM) or None,
        license=header.string(LICENSE) or None,
        vendor=header.string(VENDOR) or None,
        size=size,
        modularity_label=header.string(MODULARITYLABEL) or None,
        digest_algorithm=algorithm,
        files=files,
    )


def parse_package(blob: bytes) -> RpmPackage:
    return read_package(Header(blob))
