"""Where the tests' public fixture data lives: ``tests/data`` inside this repository.

The files are copies of public third-party test data (origin, commit and license of each in
``tests/data/SOURCES.md``), so a clone passes its tests on its own. A missing file is a broken
checkout, not a reason to skip: the test fails and says which file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def fixture_path(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data missing: {path} (see tests/data/SOURCES.md)")
    return path


def read_fixture(path: Path) -> bytes:
    return fixture_path(path).read_bytes()
