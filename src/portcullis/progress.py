"""Progress reporting seam: the library reports, only the CLI draws."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, key: str, description: str, total: int | None) -> None: ...

    def advance(self, key: str, amount: int) -> None: ...

    def finish(self, key: str) -> None: ...


class NullProgress:
    """The default: says nothing (CI logs, --quiet, library use)."""

    def start(self, key: str, description: str, total: int | None) -> None:
        return None

    def advance(self, key: str, amount: int) -> None:
        return None

    def finish(self, key: str) -> None:
        return None
