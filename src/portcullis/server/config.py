"""Server settings: where the database lives and the limits an upload must respect."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # a report of a very large image is tens of MB


def default_data_dir() -> Path:
    """``$PORTCULLIS_DATA_DIR``, else ``$XDG_DATA_HOME/portcullis``, else ~/.local/share."""
    explicit = os.environ.get("PORTCULLIS_DATA_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "portcullis"


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'console.db').resolve()}"


class ServerConfig(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    # Cookies get the Secure flag when the request came over https, or always with this set
    # (behind a TLS-terminating proxy the app sees http).
    secure_cookies: bool = False
    login_attempts: int = 5  # failed logins per user name or address ...
    login_window_seconds: int = 300  # ... within this window, then 429


def resolve_database_url(database_url: str | None, data_dir: Path | None) -> str:
    """The explicit URL, else SQLite in the data dir (created when missing)."""
    if database_url:
        return database_url
    directory = data_dir or default_data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return sqlite_url(directory)
