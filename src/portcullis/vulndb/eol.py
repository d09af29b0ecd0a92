"""End-of-life dates refreshed by ``db update --eol-source``: checked, then written beside the
vulnerability database as ``eol.json`` (where scans look for it before the shipped file)."""

from __future__ import annotations

import json
from pathlib import Path

from portcullis.errors import ConfigError, VulnDBError
from portcullis.model.eol import EolTable

EOL_FILE = "eol.json"
MAX_EOL_BYTES = 4 * 1024 * 1024  # the shipped file is ~10 KB


def eol_path(db_path: Path) -> Path:
    return db_path.with_name(EOL_FILE)


def parse_eol(data: bytes, where: str) -> EolTable:
    """The table in ``data``, or ``VulnDBError`` saying what is wrong with it."""
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise VulnDBError(f"end-of-life data {where}: not JSON: {e}") from e
    try:
        return EolTable.from_document(doc, where)
    except ConfigError as e:
        raise VulnDBError(str(e)) from e


def write_eol(data: bytes, db_path: Path) -> Path:
    """Replace the refreshed file in one rename (a scan never reads half of it)."""
    target = eol_path(db_path)
    partial = target.with_name(f".{EOL_FILE}.new")
    partial.write_bytes(data)
    partial.replace(target)
    return target
