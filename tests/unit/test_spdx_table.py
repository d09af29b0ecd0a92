"""The SPDX id table (data/spdx-ids.json) answers exactly as license-expression's parser does.

``normalize`` asks the table first and the parser only for what the table leaves (None), so
every answer the table gives must be the parser's answer for the same text.
"""

from __future__ import annotations

import json
import random
from importlib import resources

from hypothesis import given, settings
from hypothesis import strategies as st
from license_expression import get_spdx_licensing
from scripts.gen_spdx_ids import table

from portcullis.analyze.licenses import SPDX_IDS, from_table, normalize, parsed, spdx_ids

LICENSING = get_spdx_licensing()
NAMES = sorted(
    set(LICENSING.known_symbols)
    | {" ".join(alias.split()) for symbol in LICENSING.known_symbols.values()
       for alias in symbol.aliases or ()}
)
LICENSES = sorted(k for k, s in LICENSING.known_symbols.items() if not s.is_exception)
EXCEPTIONS = sorted(k for k, s in LICENSING.known_symbols.items() if s.is_exception)
# Debian copyright short names, PyPI/npm free text, and near-misses of real ids.
ODD = [
    "MIT-like", "FSFAP", "GPL", "LGPL", "BSD", "GAP", "PD", "none", "Unicode", "Expat-ISC",
    "ISC+IBM", "BSD License", "Ms-PL", "BSD-2-clause-NetBSD", "GPL-3+-WITH-BISON-EXCEPTION",
    "GPL-3+ with Bison exception", "GPL-2 with Linux-syscall-note exception",
    "GPL-2.0 with Linux-syscall-note", "GPL-2.0 WITH Classpath-exception-2.0 WITH MIT",
    "MIT with", "with MIT", "with", "WITH", "and", "or", "MIT and/or BSD", "MIT Apache-2.0",
    "GPL 2.0", "gpl 2.0+", "GPL 2.0 with Classpath-exception-2.0", "foo GPL 2.0",
    "Classpath-exception-2.0", "Classpath-exception-2.0 with Classpath-exception-2.0",
    "GPL-2.0 with GPL-3.0", "mit WITH classpath-exception-2.0", "İ", "MIT\u200b",
    "gpl-2.0-only With llvm-exception", "Public Domain", "GPL-2.0 with", "x with y with z",
    "LicenseRef-scancode-public-domain", "licenseref-scancode-public-domain",
]


def _case_variants(name: str, rng: random.Random) -> list[str]:
    mixed = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)
    return [name, name.lower(), name.upper(), mixed]


def _agrees(name: str) -> bool:
    answer = from_table(name)
    return answer is None or answer == parsed(name)


def test_the_shipped_table_is_what_the_installed_parser_knows() -> None:
    """After a license-expression upgrade: run scripts/gen_spdx_ids.py."""
    shipped = json.loads((resources.files("portcullis") / "data" / SPDX_IDS).read_text())
    generated = table()
    for part in ("licenses", "exceptions", "aliases"):  # "source" names the version it came from
        assert shipped[part] == generated[part], part
    assert len(spdx_ids()) == len(NAMES)


def test_every_id_and_alias_in_any_case_is_answered_as_the_parser_does() -> None:
    rng = random.Random(7)
    names = [v for name in NAMES for v in _case_variants(name, rng)]
    answered = [n for n in names if from_table(n) is not None]
    assert len(answered) == len(names)  # single names never need the parser
    assert [n for n in names if not _agrees(n)] == []


def test_license_with_exception_pairs_are_answered_as_the_parser_does() -> None:
    rng = random.Random(11)
    pairs = [f"{rng.choice(LICENSES)} {rng.choice(['with', 'WITH', 'With'])} "
             f"{rng.choice(EXCEPTIONS)}" for _ in range(300)]
    pairs += [f"{rng.choice(NAMES)} with {rng.choice(NAMES)}" for _ in range(300)]
    assert all(from_table(p) is not None for p in pairs)
    pairs += [f"{rng.choice(ODD)} with {rng.choice(EXCEPTIONS)}" for _ in range(50)]
    assert [p for p in pairs if not _agrees(p)] == []
    # the parser's form, not the input's
    assert from_table("gpl-2.0 with classpath-exception-2.0") == \
        "GPL-2.0-only WITH Classpath-exception-2.0"


def test_odd_names_are_answered_as_the_parser_does() -> None:
    assert [n for n in ODD if not _agrees(n)] == []
    assert from_table("MIT-like") == "MIT-like"
    assert from_table("GPL") == "GPL-1.0-or-later"  # the parser's alias, kept as it was


def test_compound_expressions_are_left_to_the_parser() -> None:
    for text in ["MIT OR Apache-2.0", "(MIT)", "MIT and BSD", "a with b with c", "MIT WITH",
                 "WITH MIT"]:
        assert from_table(text) is None
    assert normalize("(MIT OR Apache-2.0)") == "MIT OR Apache-2.0"


_WORDS = st.sampled_from([*ODD, *NAMES[::40], "with", "WITH", "and", "or", "(", ")", "x", "+"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=5),
       st.lists(st.sampled_from([" ", "  ", "\t", "", "\u00a0", "\x1f"]), min_size=5,
                max_size=5))
def test_joined_words_are_answered_as_the_parser_does(words: list[str],
                                                      gaps: list[str]) -> None:
    text = "".join(w + g for w, g in zip(words, gaps, strict=False)).strip()
    name = " ".join(text.split())
    if name:
        assert _agrees(name)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
def test_any_text_is_answered_as_the_parser_does(text: str) -> None:
    name = " ".join(text.split())
    if name:
        assert _agrees(name)
