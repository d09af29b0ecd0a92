"""A small ELF reader: section and program headers, 32/64-bit, both byte orders.

Only what binary analyzers need (find a section by name, map a virtual address to a file
offset, list writable segments); every offset is bounds-checked, since binaries in images
are untrusted input.
"""

from __future__ import annotations

import struct

import msgspec

ELF_MAGIC = b"\x7fELF"
_SHT_NOBITS = 8
_PT_LOAD = 1
_PF_W = 0x2
_MAX_READ = 16 << 20  # no string or note in a real binary comes near this


class ElfError(ValueError):
    """Bytes that claim to be ELF but are not readable as such."""


class Section(msgspec.Struct, frozen=True):
    name: str
    type: int
    addr: int
    offset: int
    size: int


class Segment(msgspec.Struct, frozen=True):
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int


class ElfFile:
    """Just enough of ELF (32/64-bit, either byte order) to find sections by name and to
    map virtual addresses to file offsets. Reads only headers; never copies the file."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 52 or data[:4] != ELF_MAGIC:
            raise ElfError("not an ELF file")
        ei_class, ei_data = data[4], data[5]
        if ei_class not in (1, 2) or ei_data not in (1, 2):
            raise ElfError(f"unknown ELF class/data {ei_class}/{ei_data}")
        self.data = data
        self.is64 = ei_class == 2
        self.endian = "<" if ei_data == 1 else ">"
        self.ptr_size = 8 if self.is64 else 4
        e = self.endian
        try:
            if self.is64:
                (self.phoff, self.shoff, _flags, _ehsize, self.phentsize, self.phnum,
                 self.shentsize, self.shnum, self.shstrndx) = struct.unpack_from(
                    e + "QQIHHHHHH", data, 32)
            else:
                (self.phoff, self.shoff, _flags, _ehsize, self.phentsize, self.phnum,
                 self.shentsize, self.shnum, self.shstrndx) = struct.unpack_from(
                    e + "IIIHHHHHH", data, 28)
        except struct.error as exc:
            raise ElfError("truncated ELF header") from exc
        self._sections: list[Section] | None = None
        self._segments: list[Segment] | None = None

    # tables

    def sections(self) -> list[Section]:
        """Section headers with names; empty when the table is absent or out of the file."""
        if self._sections is None:
            self._sections = self._read_sections()
        return self._sections

    def _table_ok(self) -> bool:
        want = 64 if self.is64 else 40
        return not (self.shoff == 0 or self.shnum == 0 or self.shentsize < want
                    or self.shoff + self.shnum * self.shentsize > len(self.data)
                    or self.shstrndx >= self.shnum)

    def _may_name(self, name: str) -> bool:
        """False when no section can be called ``name``: its string table holds the name
        nowhere as a whole string (a name runs to a NUL or to the table's end). True when
        it may, or when the tables are unreadable (``sections()`` then finds none)."""
        if not self._table_ok():
            return True
        fmt = self.endian + ("IIQQQQ" if self.is64 else "IIIIII")
        _, str_kind, _, _, str_off, str_size = struct.unpack_from(
            fmt, self.data, self.shoff + self.shstrndx * self.shentsize)
        if str_kind == _SHT_NOBITS or str_off + str_size > len(self.data):
            return True
        names = self.data[str_off:str_off + str_size]
        wanted = name.encode("latin-1", "replace")
        return wanted + b"\0" in names or names.endswith(wanted)

    def _read_sections(self) -> list[Section]:
        if not self._table_ok():
            return []
        fmt = self.endian + ("IIQQQQIIQQ" if self.is64 else "IIIIIIIIII")
        raw = []
        for i in range(self.shnum):
            (name, kind, _flags, addr, offset, size, *_rest) = struct.unpack_from(
                fmt, self.data, self.shoff + i * self.shentsize)
            raw.append((name, kind, addr, offset, size))
        _, str_kind, _, str_off, str_size = raw[self.shstrndx]
        if str_kind == _SHT_NOBITS or str_off + str_size > len(self.data):
            return []
        names = self.data[str_off:str_off + str_size]
        out = []
        for name_off, kind, addr, offset, size in raw:
            end = names.find(b"\0", name_off)
            name = names[name_off:end if end >= 0 else None].decode("latin-1")
            out.append(Section(name, kind, addr, offset, size))
        return out

    def segments(self) -> list[Segment]:
        if self._segments is None:
            self._segments = self._read_segments()
        return self._segments

    def _read_segments(self) -> list[Segment]:
        want = 56 if self.is64 else 32
        if (self.phoff == 0 or self.phnum == 0 or self.phentsize < want
                or self.phoff + self.phnum * self.phentsize > len(self.data)):
            return []
        out = []
        for i in range(self.phnum):
            at = self.phoff + i * self.phentsize
            if self.is64:
                kind, flags, offset, vaddr, _paddr, filesz = struct.unpack_from(
                    self.endian + "IIQQQQ", self.data, at)
            else:
                kind, offset, vaddr, _paddr, filesz, _memsz, flags = struct.unpack_from(
                    self.endian + "IIIIIII", self.data, at)
            out.append(Segment(kind, flags, offset, vaddr, filesz))
        return out

    # lookups

    def section(self, name: str) -> Section | None:
        if self._sections is None and not self._may_name(name):
            # Binary analyzers ask every executable of an image for their one section and
            # almost none has it: answered from the string table, no header table read.
            return None
        for section in self.sections():
            if section.name == name:
                return section
        return None

    def section_data(self, section: Section) -> bytes:
        """The section's bytes; ``ElfError`` when they lie beyond the end of the file."""
        if section.type == _SHT_NOBITS:
            return b""
        if section.offset + section.size > len(self.data):
            raise ElfError(f"section {section.name} lies beyond the end of the file")
        return self.data[section.offset:section.offset + section.size]

    def read_at(self, addr: int, size: int) -> bytes:
        """``size`` bytes at virtual address ``addr`` (loadable segments first, then
        sections); ``ElfError`` when unmapped or outside the file."""
        if size < 0 or size > _MAX_READ:
            raise ElfError(f"implausible length {size}")
        for seg in self.segments():
            if seg.type == _PT_LOAD and seg.vaddr <= addr and addr + size <= seg.vaddr + seg.filesz:
                return self._slice(seg.offset + addr - seg.vaddr, size)
        for sec in self.sections():
            if (sec.type != _SHT_NOBITS and sec.addr and sec.addr <= addr
                    and addr + size <= sec.addr + sec.size):
                return self._slice(sec.offset + addr - sec.addr, size)
        raise ElfError(f"address {addr:#x} is not mapped from the file")

    def _slice(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.data):
            raise ElfError("data lies beyond the end of the file")
        return self.data[offset:offset + size]

    def writable_load_data(self) -> list[tuple[int, bytes]]:
        """(vaddr, bytes) of writable loadable segments, clamped to the file."""
        return [(seg.vaddr, self.data[seg.offset:seg.offset + seg.filesz])
                for seg in self.segments() if seg.type == _PT_LOAD and seg.flags & _PF_W]


# build info -----------------------------------------------------------------------------------
