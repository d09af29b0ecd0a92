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
