"""``first_lines`` reads one field of every deb822 paragraph without building paragraphs: it
must agree with the full parser on any text, blank-ish lines, comments and repeats included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portcullis.analyze.os.control import first_lines, first_paragraph, paragraphs

LINES = st.sampled_from([
    "License: GPL-2+", "license : MIT or Apache-2.0", "License:", "Licence: BSD",
    "Files: *", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
    " continued text", "\tmore", " .", "", "   ", "\t", "# License: commented", "stray line",
    "Bad Key: x", ":no key", "LICENSE: Zlib", "License: Expat\r", "\x0c", "License:GPL-3",
])


def by_paragraphs(text: str) -> list[str]:
    return [p.first_line("license") for p in paragraphs(text) if "license" in p]


@given(st.lists(LINES, max_size=30))
def test_first_lines_agrees_with_paragraphs(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert list(first_lines(text, "License")) == by_paragraphs(text)


@given(st.text(alphabet="Lic:ens \t\n#.\r", max_size=60))
def test_first_lines_agrees_on_any_text(text: str) -> None:
    assert list(first_lines(text, "license")) == by_paragraphs(text)


def test_first_of_each_paragraph() -> None:
    text = "License: A\nLicense: B\n text\n\nFiles: x\n\nLicense: C or D\n"
    assert list(first_lines(text, "license")) == ["A", "C or D"]


@given(st.lists(LINES, max_size=30), st.sampled_from(["\n", "\r\n", "\r", "\x0c\n"]),
       st.integers(min_value=0, max_value=200))
def test_first_paragraph_agrees_with_paragraphs(lines: list[str], sep: str,
                                                probe: int) -> None:
    """Whatever the probe cuts (a line, a CRLF, a paragraph), the first paragraph is the
    full parser's."""
    text = sep.join(lines)
    assert first_paragraph(text, probe) == next(paragraphs(text), None)


def test_first_paragraph_reads_the_header_of_a_long_file() -> None:
    text = "Format: dep5\nSource: x\n\nLicense: MIT\n" + " text\n" * 10_000
    header = first_paragraph(text)
    assert header is not None and header.get("format") == "dep5" and header.line == 1
    assert first_paragraph("\n\n" + " x\n" * 3000 + "\nA: b") == next(
        paragraphs("\n\n" + " x\n" * 3000 + "\nA: b"))
