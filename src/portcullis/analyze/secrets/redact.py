"""Masking: a secret is never shown in full, anywhere (report, table, warnings, logs)."""

from __future__ import annotations

MAX_STARS = 16


def mask(secret: str) -> str:
    """A few leading characters (at most 4, fewer for short secrets: a prefix such as
    ``AKIA`` or ``ghp_`` says which kind of key it is) and stars for the rest."""
    shown = min(4, len(secret) // 5)
    return secret[:shown] + "*" * min(MAX_STARS, max(len(secret) - shown, 1))
