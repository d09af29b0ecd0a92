"""Where the shared public fixture data lives: ``../shared/fixtures`` beside the checkout.

CI has it too, so a missing file is a broken setup, not a reason to skip: tests fail loudly.
``PORTCULLIS_FIXTURES`` points elsewhere if the data sits somewhere else.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get("PORTCULLIS_FIXTURES") or REPO.parent / "shared" / "fixtures")


def fixture_path(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared fixture missing: {path} (tests read ../shared/fixtures; "
                    "see SOURCES.md there)")
    return path


def read_fixture(path: Path) -> bytes:
    return fixture_path(path).read_bytes()
