"""``ElfFile.section`` answers "no such section" from the string table alone: it must agree
with a search of the full section list on every input, names that are suffixes of others
(".text" inside ".rela.text"), big- and little-endian, 32- and 64-bit, and damaged bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portcullis.analyze.binary.elf import ElfError, ElfFile
from tests.analyzers.test_go_binary import build_elf

NAMES = [".go.buildinfo", ".dep-v0", ".text", ".rela.text", ".data", ".rodata", ".shstrtab",
         "text", ".go", ""]


def by_list(elf: ElfFile, name: str) -> object:
    return next((s for s in elf.sections() if s.name == name), None)


@given(st.lists(st.sampled_from(NAMES[:6]), max_size=5, unique=True), st.booleans(),
       st.booleans(), st.sampled_from(NAMES))
def test_lookup_agrees_with_the_section_list(present: list[str], is64: bool, big: bool,
                                             asked: str) -> None:
    data = build_elf([(n, b"x" * 8) for n in present], is64=is64, big=big)
    fast = ElfFile(data).section(asked)
    assert fast == by_list(ElfFile(data), asked)
    assert (fast is not None) == (asked in [*present, ".shstrtab", ""])  # "": the null section


@given(st.sampled_from(NAMES), st.integers(min_value=0), st.integers(0, 255))
def test_lookup_agrees_on_damaged_files(asked: str, where: int, value: int) -> None:
    data = bytearray(build_elf([(".rela.text", b"a" * 8), (".go.buildinfo", b"b" * 8)]))
    data[where % len(data)] = value
    try:
        fast = ElfFile(bytes(data)).section(asked)
    except ElfError:
        return
    assert fast == by_list(ElfFile(bytes(data)), asked)
