"""OCI / AUFS whiteout names."""

from __future__ import annotations

import posixpath

PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
META_PREFIX = ".wh..wh."


def classify(path: str) -> tuple[str, str] | None:
    """For a whiteout entry return ("delete", target) or ("opaque", dir); else None.

    Other ``.wh..wh.*`` names (AUFS hard-link bookkeeping) are ("ignore", path).
    """
    if PREFIX not in path:  # nearly every entry: no need to split it
        return None
    parent, base = posixpath.split(path)
    if not base.startswith(PREFIX):
        return None
    if base == OPAQUE:
        return ("opaque", parent or "/")
    if base.startswith(META_PREFIX):
        return ("ignore", path)
    return ("delete", posixpath.join(parent, base[len(PREFIX):]))
