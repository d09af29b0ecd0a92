"""Where the shared public fixture data lives: ``../shared/fixtures`` beside the checkout.

CI has it too, so a missing file is a broken setup, not a reason to skip: tests fail loudly.
Looked up in order: ``$PORTCULLIS_FIXTURES``; ``../shared/fixtures`` beside this checkout; and,
for a scratch clone of a local checkout (``git clone . /tmp/x``), beside the checkout it was
cloned from.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _origin_checkout() -> Path | None:
    try:
        url = subprocess.run(["git", "-C", str(REPO), "remote", "get-url", "origin"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return None
    path = Path(url.strip().removeprefix("file://"))
    return path if url.strip() and path.is_absolute() and path.is_dir() else None


def _find() -> Path:
    if os.environ.get("PORTCULLIS_FIXTURES"):
        return Path(os.environ["PORTCULLIS_FIXTURES"])
    beside = REPO.parent / "shared" / "fixtures"
    if beside.is_dir():
        return beside
    origin = _origin_checkout()
    if origin is not None and (origin.parent / "shared" / "fixtures").is_dir():
        return origin.parent / "shared" / "fixtures"
    return beside


SHARED_FIXTURES = _find()


def fixture_path(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"shared fixture missing: {path} (tests read ../shared/fixtures beside the "
                    "checkout, or $PORTCULLIS_FIXTURES; see SOURCES.md there)")
    return path


def read_fixture(path: Path) -> bytes:
    return fixture_path(path).read_bytes()
