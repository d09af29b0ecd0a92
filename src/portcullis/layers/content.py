"""Where captured file contents live: spooled temp files, removed when the scan ends.

Never a path derived from the image: every item is an anonymous SpooledTemporaryFile in the
scanner's own temp folder.
"""

from __future__ import annotations

import tempfile
from typing import IO

_MEMORY_THRESHOLD = 1 << 20


class ContentStore:
    def __init__(self, temp_dir: str | None = None) -> None:
        self._temp_dir = temp_dir
        self._items: dict[tuple[int, str], IO[bytes]] = {}
        self.bytes = 0

    def put(self, layer: int, path: str, data: bytes) -> None:
        spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (lives until close())
            max_size=_MEMORY_THRESHOLD, dir=self._temp_dir
        )
        spool.write(data)
        old = self._items.pop((layer, path), None)
        if old is not None:
            old.close()
        self._items[(layer, path)] = spool
        self.bytes += len(data)

    def has(self, layer: int, path: str) -> bool:
        return (layer, path) in self._items

    def get(self, layer: int, path: str) -> bytes | None:
        spool = self._items.get((layer, path))
        if spool is None:
            return None
        spool.seek(0)
        return spool.read()

    def close(self) -> None:
        for spool in self._items.values():
            spool.close()
        self._items.clear()
