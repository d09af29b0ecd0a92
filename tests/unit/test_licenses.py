from __future__ import annotations

import pytest

from portcullis.analyze.licenses import normalize, normalize_all


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        ("MIT", "MIT"),
        ("mit", "MIT"),
        ("MIT License", "MIT"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
        ("Apache Software License", "Apache-2.0"),
        ("GPLv2+", "GPL-2.0-or-later"),
        ("Python Software Foundation License", "PSF-2.0"),
        ("BSD", "BSD"),  # ambiguous: kept as written, never guessed
        ("GPL-3+ with Bison exception", "GPL-3+ with Bison exception"),
        ("LicenseRef-public-domain", "LicenseRef-public-domain"),
    ],
)
def test_normalize(text: str, spdx: str) -> None:
    assert normalize(text) == spdx


def test_normalize_all_dedupes_after_mapping() -> None:
    assert normalize_all(("MIT", "MIT License", "ISC")) == ("MIT", "ISC")


@pytest.mark.parametrize("text", ["MIT AND", "MIT WITH", "(MIT", "OR OR", ")"])
def test_broken_expressions_are_kept_as_written(text: str) -> None:
    assert normalize(text) == text


@pytest.mark.parametrize(("name", "spdx"), [
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("GFDL-1.3+", "GFDL-1.3-or-later"),
    ("BSD-2-clause", "BSD-2-Clause"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("BSD-4-clause-UC", "BSD-4-Clause-UC"),
    ("GFDL-NIV-1.3+", "GFDL-1.3-no-invariants-or-later"),
    ("Expat", "MIT"),
    ("Apache-2.0", "Apache-2.0"),
    ("Apache-2", "Apache-2.0"),
    ("MPL-2.0", "MPL-2.0"),
    ("Artistic", "Artistic-1.0-Perl"),
    ("Artistic-2.0", "Artistic-2.0"),
    ("Perl", "Artistic-1.0-Perl OR GPL-1.0-or-later"),
    ("CC0-1.0", "CC0-1.0"),
    ("CC-BY-SA-4.0", "CC-BY-SA-4.0"),
    ("zlib", "Zlib"),
    ("ISC", "ISC"),
    ("public-domain", "LicenseRef-public-domain"),
    ("GPL-2.0-or-later", "GPL-2.0-or-later"),
    ("GPL", "GPL-1.0-or-later"),  # no version stated: any version (license-expression)
    ("GPL-4", "GPL-4"),  # no such license: kept as written
    ("permissive", "permissive"),
])
def test_dep5_short_names(name: str, spdx: str) -> None:
    """The names Debian copyright files use (DEP-5), read by the same table."""
    assert normalize(name) == spdx
