"""Executables as the binary analyzers (Go build info, cargo-auditable) see them.

Each is a file analyzer shown every executable in the image, and almost none of them is its
own, so the reject path must be cheap: four magic bytes, then the ELF section header table
(no scan of the file) and one section lookup. What is not readable as ELF is not theirs to
judge: it is passed over, without a warning.
"""

from __future__ import annotations

import struct

from portcullis.analyze.binary.elf import ELF_MAGIC, ElfError, ElfFile
from portcullis.limits import MiB
from portcullis.model.files import FileKind, FileMeta

MIN_SIZE = 1024  # smaller executables are scripts and stubs, never a compiled program
MAX_SIZE = 512 * MiB  # the analyzers' max_file_size: larger files are not read into memory


def accepts_executable(meta: FileMeta) -> bool:
    return meta.kind is FileKind.FILE and meta.is_executable and meta.size >= MIN_SIZE


def read_elf(data: bytes) -> ElfFile | None:
    """The ELF headers of ``data``; None for anything else and for headers too broken to read."""
    if data[:4] != ELF_MAGIC:
        return None
    try:
        return ElfFile(data)
    except (ElfError, struct.error):
        return None


def elf_section(elf: ElfFile, name: str) -> bytes | None:
    """The bytes of section ``name``; None when there is none or it was cut off."""
    section = elf.section(name)
    if section is None:
        return None
    try:
        return elf.section_data(section)
    except ElfError:
        return None
