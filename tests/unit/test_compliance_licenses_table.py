"""A license category found without the parser equals the one found through it.

``Categorizer`` answers a single id, alias or run of unknown words from the SPDX table
(``single_license``) and asks license-expression's parser only for the rest; for every text
the table answers, the category and the unknown names must be what the parser's route gives.
"""

from __future__ import annotations

import random
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.analyze.compliance.licenses import REFUSED, Categorizer, single_license
from tests.unit.test_spdx_table import EXCEPTIONS, LICENSES, NAMES, ODD

# A policy may put any name in the table, unknown words and suffixed forms included.
OVERRIDES = {"MIT-like": "permissive", "public domain": "public-domain", "foo bar": "notice",
             "GPL-3+": "restricted", "permissive": "permissive", "Apache-2.0": "notice"}
CATEGORIZERS = [Categorizer(), Categorizer(OVERRIDES)]


def _agrees(text: str) -> bool:
    return all(c._judge(text) == c._parsed(text) for c in CATEGORIZERS)


def test_ids_aliases_and_odd_names_get_the_parsers_category() -> None:
    rng = random.Random(5)
    texts = [*ODD, *(f"{rng.choice(NAMES)} with {rng.choice([*ODD, *EXCEPTIONS])}"
                     for _ in range(200)), *(n.upper() for n in NAMES[::3]), *(n.lower() for n in NAMES[1::3]),
             *NAMES[2::3], "public domain", "Foo Bar", "foo bar", "GPL-3+", "MIT Apache-2.0",
             "GPL-2.0 foo", "foo GPL-2.0", *(f"{rng.choice(ODD)} {rng.choice(NAMES)}"
                                             for _ in range(100))]
    assert [t for t in texts if not _agrees(t)] == []
    answered = [t for t in texts if single_license(t) is not None]
    assert len(answered) > len(texts) * 0.9  # the table answers most, or it saves nothing


def test_what_the_table_answers_and_what_it_leaves() -> None:
    assert single_license("mit") == "MIT"
    assert single_license("GPL-2.0+") == "GPL-2.0-or-later"
    assert single_license("MIT-like") == "MIT-like"
    assert single_license("MIT with MIT") == "MIT"  # the parser does not check kinds
    assert single_license("public domain") == "public domain"
    assert single_license("GPL-3+ with Bison exception") == "GPL-3+"
    assert single_license("GPL with automake exception") == "GPL-1.0-or-later"
    assert single_license("mit WITH classpath-exception-2.0") == "MIT"
    assert single_license("Classpath-exception-2.0") == "Classpath-exception-2.0"
    for text in ["MIT Apache-2.0", "foo GPL-2.0", "GPL-2 with Linux-syscall-note exception",
                 "MIT\u200b", "MIT with MIT\u200b"]:
        assert single_license(text) == REFUSED, text
    for text in ["MIT OR Apache-2.0", "(MIT)", "a with b with c", "with MIT", "MIT with",
                 "MIT  BSD", "", " MIT", "İ foo"]:
        assert single_license(text) is None, text
    assert all(single_license(t) == t for t in LICENSES)


_WORDS = st.sampled_from([*ODD, *NAMES[::40], *EXCEPTIONS[::10], "with", "with", "and", "or",
                          "(", ")", "x", "+", "foo", "a.b", "x:y", "é", "$"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=4))
def test_joined_words_get_the_parsers_category(words: list[str]) -> None:
    assert _agrees(" ".join(words))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20))
def test_any_text_gets_the_parsers_category(text: str) -> None:
    assert _agrees(text)


def test_a_debian_like_package_list_is_judged_without_loading_the_parser() -> None:
    code = ("import sys\n"
            "from portcullis.analyze.compliance.licenses import Categorizer\n"
            "c = Categorizer()\n"
            "for lic in [('GPL-2.0-or-later', 'MIT-like'), ('public domain',), ('Zlib',),\n"
            "            ('GPL-3+ with Bison exception', 'GPL-2 with Linux-syscall-note exception'),\n"
            "            ('LGPL-2.1-or-later', 'permissive', 'FSFAP')]:\n"
            "    c.of_licenses(lic)\n"
            "print('license_expression' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
