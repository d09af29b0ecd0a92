"""Where captured file contents live: spooled temp files, removed when the scan ends.

Never a path derived from the image: every item is an anonymous SpooledTemporaryFile in the
scanner's own temp folder. Contents arrive as a stream (``writer``) so a captured file is never
held whole in memory on its way in; a small one already in memory (from a layer cache entry)
is kept as it is (``put``).

Each item's sha256 is known once asked (``digest``), or from the start when the layer cache
recorded it: a replayed tree analyzer query (analyze/tree_reuse.py) compares a read's digest,
never the bytes again.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator, Sequence
from typing import Protocol

_MEMORY_THRESHOLD = 1 << 20
_CHUNK = 1 << 20


class _Item(Protocol):
    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _Held:
    """A captured file already in memory as a slice of a layer cache entry: kept as that view
    (no copy), copied only when read."""

    __slots__ = ("_pos", "_view")

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def seek(self, offset: int, whence: int = 0, /) -> int:
        if whence != 0:
            raise ValueError("only absolute seeks")
        self._pos = offset
        return offset

    def read(self, size: int = -1, /) -> bytes:
        end = len(self._view) if size < 0 else min(len(self._view), self._pos + size)
        data = bytes(self._view[self._pos:end]) if end > self._pos else b""
        self._pos = max(self._pos, end)
        return data

    def close(self) -> None:
        self._view = memoryview(b"")


class ContentWriter:
    """One file being captured; ``commit`` makes it readable, ``discard`` drops it.

    With a ``budget``, the store's held bytes never pass it: the write that would is not
    made, the writer is ``over`` and drops what it had, and ``commit`` then keeps nothing."""

    def __init__(self, store: ContentStore, layer: int, path: str,
                 budget: int | None = None) -> None:
        self._store = store
        self._key = (layer, path)
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (store owns it)
            max_size=_MEMORY_THRESHOLD, dir=store.temp_dir
        )
        self._budget = budget
        self.size = 0
        self.over = False

    def write(self, chunk: bytes) -> None:
        if self.over:
            return
        if self._budget is not None and self._store.held + len(chunk) > self._budget:
            self.over = True
            self.discard()
            return
        self._spool.write(chunk)
        self.size += len(chunk)
        self._store.held += len(chunk)

    def commit(self) -> bool:
        """Whether the file was kept (False when it went over the budget)."""
        if self.over:
            return False
        self._store.adopt(self._key, self._spool, self.size)
        return True

    def discard(self) -> None:
        if not self._spool.closed:
            self._spool.close()
            self._store.held -= self.size
            self.size = 0


class ContentStore:
    """``bytes``: all bytes ever committed; ``held``: bytes in the spools right now (those
    committed and still kept, and those of files being written), what a budget bounds."""

    def __init__(self, temp_dir: str | None = None) -> None:
        self.temp_dir = temp_dir
        self._items: dict[tuple[int, str], _Item] = {}
        self._sizes: dict[tuple[int, str], int] = {}
        self._digests: dict[tuple[int, str], bytes] = {}  # sha256 of an item, once known
        self.bytes = 0
        self.held = 0

    def writer(self, layer: int, path: str, budget: int | None = None) -> ContentWriter:
        return ContentWriter(self, layer, path, budget)

    def adopt(self, key: tuple[int, str], spool: _Item, size: int) -> None:
        old = self._items.pop(key, None)
        self._digests.pop(key, None)
        if old is not None:
            old.close()
            self.held -= self._sizes.pop(key, 0)
        self._items[key] = spool
        self._sizes[key] = size
        self.bytes += size

    def put(self, layer: int, path: str, data: bytes, sha256: bytes | None = None) -> None:
        """Keep ``data`` (a small one as it is: no copy); ``sha256``: its digest, when the
        caller knows it (see ``digest``)."""
        if len(data) <= _MEMORY_THRESHOLD:
            # A BytesIO made from bytes shares them until written to, and reading it whole
            # from the start hands back the same object: no copy either way.
            self._keep((layer, path), io.BytesIO(data), len(data), sha256)
            return
        writer = self.writer(layer, path)
        writer.write(data)
        writer.commit()
        if sha256 is not None:
            self._digests[(layer, path)] = sha256

    def put_views(self, layer: int, files: Sequence[tuple[str, memoryview, bytes]]) -> None:
        """Keep a layer cache entry's captured files (path, bytes, sha256). When all are small
        they stay views of the entry's bytes, copied only if read (a rescan reads few: a
        replayed read compares the sha256); else each is copied, so that the entry's buffer,
        large file and all, is not kept alive by a small one (a large one goes to disk)."""
        small = all(len(data) <= _MEMORY_THRESHOLD for _, data, _ in files)
        for path, data, sha256 in files:
            if small:
                self._keep((layer, path), _Held(data), len(data), sha256)
            else:
                self.put(layer, path, bytes(data), sha256)

    def _keep(self, key: tuple[int, str], item: _Item, size: int, sha256: bytes | None) -> None:
        self.adopt(key, item, size)
        self.held += size
        if sha256 is not None:
            self._digests[key] = sha256

    def digest(self, layer: int, path: str) -> bytes | None:
        """The sha256 of an item (None when there is none): recorded by ``put``, else hashed
        once and remembered."""
        key = (layer, path)
        found = self._digests.get(key)
        if found is not None or key not in self._items:
            return found
        h = hashlib.sha256()
        for chunk in self.chunks(layer, path):
            h.update(chunk)
        found = self._digests[key] = h.digest()
        return found

    def has(self, layer: int, path: str) -> bool:
        return (layer, path) in self._items

    def get(self, layer: int, path: str) -> bytes | None:
        spool = self._items.get((layer, path))
        if spool is None:
            return None
        spool.seek(0)
        return spool.read()

    def of_layer(self, layer: int, most: int) -> list[tuple[str, bytes]] | None:
        """Every file captured from ``layer``, by path (what a layer cache keeps); None when
        together they are over ``most`` bytes (they are read into memory)."""
        if sum(size for (at, _), size in self._sizes.items() if at == layer) > most:
            return None
        out = []
        for (at, path), spool in sorted(self._items.items()):
            if at == layer:
                spool.seek(0)
                out.append((path, spool.read()))
        return out

    def chunks(self, layer: int, path: str, size: int = _CHUNK) -> Iterator[bytes]:
        """The captured bytes again, in chunks (for a hard link to a captured file)."""
        spool = self._items.get((layer, path))
        if spool is None:
            return
        offset = 0
        while True:
            spool.seek(offset)  # another reader may have moved the shared position
            chunk = spool.read(size)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        for spool in self._items.values():
            spool.close()
        self._items.clear()
        self._sizes.clear()
        self._digests.clear()
        self.held = 0
