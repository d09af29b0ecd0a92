"""Where the vulnerability database lives by default. Apart from ``store`` so that a scan that
only needs the path (the compliance scanner's end-of-life file beside the database) does not
import sqlite3 and the OSV reader."""

from __future__ import annotations

import os
from pathlib import Path


def default_db_path() -> Path:
    """``$PORTCULLIS_DB``, else ``$XDG_CACHE_HOME/portcullis/db/vuln.db``, else
    ``~/.cache/portcullis/db/vuln.db``."""
    explicit = os.environ.get("PORTCULLIS_DB")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "portcullis" / "db" / "vuln.db"
