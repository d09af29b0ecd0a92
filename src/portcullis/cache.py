"""The layer cache on disk: one file per layer entry, bounded in size, safe to share.

What an entry holds and when the engine may trust it is ``analyze/layer_cache.py``; this module
only keeps the bytes. The layout under the cache folder::

    layers/<key>.entry       one CachedLayer: magic, sha256 of the payload, msgpack payload
    inventories/<key>.entry  one CachedInventory (a whole image's inventory stages), the same way
    images/<key>.entry       one CachedImage (a whole scan's engine result), the same way
    trees/<key>.entry        TreeRecords: one tree analyzer's recent recorded runs, newest
                             first (analyze/tree_reuse.py), the same way
    matches/<key>.entry      one CachedMatch (vulnerability matches of one inventory against
                             one database: vulndb/match_cache.py), the same way
    compiled-rules/<key>.entry  a compiled YARA-X rule set (analyze/malware/compiled_cache.py,
                         which writes, bounds and reads it; counted, evicted and cleaned here)
    lock                 flock'ed by writers and by eviction and ``clean``
    tmp-*                an entry being written (renamed into place when complete)

Safe under concurrent scans: an entry appears only by an atomic rename of a complete file, so
a reader sees a whole entry or none (it is not fsynced: after a power cut a torn entry fails
its checksum like any damaged one); writers and eviction hold the lock. A process
killed mid-write leaves a ``tmp-*`` file that is never read (the next writer removes stale ones);
an entry damaged anyway (a disk fault, an edit) fails its checksum, is removed and read as a
miss, so the scan rebuilds it. Least recently used entries are evicted past ``max_bytes``
(a hit touches the entry's mtime).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import msgspec

from portcullis.analyze.layer_cache import CachedImage, CachedInventory, CachedLayer
from portcullis.analyze.tree_reuse import TreeRecord, TreeRecords, newest_first
from portcullis.atomic import write_atomic
from portcullis.errors import ConfigError
from portcullis.limits import GiB
from portcullis.vulndb.match_cache import CachedMatch

log = logging.getLogger(__name__)

MAGIC = b"PCLAYER\x01"
_SUM = 32  # sha256 digest bytes after the magic
DEFAULT_MAX_BYTES = 2 * GiB
_STALE_TMP = 3600.0  # a tmp file this old belongs to a writer that died
_ENTRY = ".entry"

_encoder = msgspec.msgpack.Encoder()
_KINDS = ("layers", "inventories", "images", "trees", "matches")
RULES = "compiled-rules"
_decoders: dict[str, msgspec.msgpack.Decoder[Any]] = {
    "layers": msgspec.msgpack.Decoder(CachedLayer),
    "inventories": msgspec.msgpack.Decoder(CachedInventory),
    "images": msgspec.msgpack.Decoder(CachedImage),
    "trees": msgspec.msgpack.Decoder(TreeRecords),
    "matches": msgspec.msgpack.Decoder(CachedMatch),
}
_Entry = CachedLayer | CachedInventory | CachedImage | TreeRecords | CachedMatch


def encode_entry(entry: _Entry) -> bytes:
    payload = _encoder.encode(entry)
    return MAGIC + hashlib.sha256(payload).digest() + payload


def decode_entry(data: bytes, kind: str = "layers") -> Any:
    """The entry (a CachedLayer, or a CachedInventory for ``inventories``), or None when it
    is torn or not one this version wrote."""
    head = len(MAGIC) + _SUM
    if len(data) < head or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        return None
    try:
        return _decoders[kind].decode(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, TypeError, ValueError):
        return None


class CacheInfo(msgspec.Struct, frozen=True):
    path: Path
    layers: int
    inventories: int
    results: int  # whole-scan entries (``images/``)
    bytes: int
    max_bytes: int
    rule_sets: int = 0  # compiled YARA-X rule sets
    trees: int = 0  # recorded tree analyzer runs (``trees/``, one file per analyzer)
    matches: int = 0  # vulnerability match results (``matches/``, vulndb/match_cache.py)


class LayerCacheDir:
    """A ``LayerCache`` (see analyze/layer_cache.py) in a folder."""

    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        try:
            for kind in _KINDS:
                (root / kind).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cache folder {root} cannot be created: {e.strerror}") from e

    @property
    def compiled_rules(self) -> Path:
        """Where the malware analyzer keeps compiled rule sets (made when first written)."""
        return self.root / RULES

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}{_ENTRY}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.root / "lock").open("a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def get(self, key: str) -> CachedLayer | None:
        found: CachedLayer | None = self._get("layers", key)
        return found

    def put(self, key: str, layer: CachedLayer) -> None:
        self._put("layers", key, layer)

    def get_inventory(self, key: str) -> CachedInventory | None:
        found: CachedInventory | None = self._get("inventories", key)
        return found

    def put_inventory(self, key: str, inventory: CachedInventory) -> None:
        self._put("inventories", key, inventory)

    def get_image(self, key: str) -> CachedImage | None:
        found: CachedImage | None = self._get("images", key)
        return found

    def put_image(self, key: str, image: CachedImage) -> None:
        self._put("images", key, image)

    def get_tree(self, key: str) -> TreeRecords | None:
        found: TreeRecords | None = self._get("trees", key)
        return found

    def put_tree(self, key: str, record: TreeRecord) -> None:
        """Put ``record`` in front of the ones kept under ``key`` (read and rewritten under
        the lock, so two scans adding one each keep both)."""
        path = self._path("trees", key)
        try:
            with self._locked():
                try:
                    old = decode_entry(path.read_bytes(), "trees")
                except OSError:
                    old = None  # none yet; a damaged one is simply replaced
                data = encode_entry(newest_first(old, record))
                if len(data) <= self.max_bytes:
                    write_atomic(path, data, tmp_dir=self.root, sync=False)
                    self._evict()
        except OSError as e:
            log.warning("layer cache at %s not written: %s", self.root, e)

    def get_match(self, key: str) -> CachedMatch | None:
        found: CachedMatch | None = self._get("matches", key)
        return found

    def put_match(self, key: str, match: CachedMatch) -> None:
        self._put("matches", key, match)

    def _get(self, kind: str, key: str) -> Any:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except OSError:  # missing, or evicted by another scan just now
            return None
        entry = decode_entry(data, kind)
        if entry is None:
            log.warning("layer cache entry %s is damaged; it is removed and rebuilt", path)
            with suppress(OSError), self._locked():
                # Only if it is still the damaged file (another scan may have rebuilt it).
                if path.read_bytes() == data:
                    path.unlink()
            return None
        with suppress(OSError):
            os.utime(path)  # least recently used goes first
        return entry

    def _put(self, kind: str, key: str, entry: _Entry) -> None:
        """Store ``entry`` under ``key``. A cache that cannot be written is a warning in the
        log, never a failed scan."""
        try:
            data = encode_entry(entry)
        except (UnicodeEncodeError, msgspec.EncodeError) as e:
            # A file name that is not UTF-8 has no msgpack form: that layer is not cached.
            log.info("layer cache entry not written: %s", e)
            return
        if len(data) > self.max_bytes:
            return
        try:
            with self._locked():
                # Entries carry a sha256 checked on read: no fsync (see write_atomic).
                write_atomic(self._path(kind, key), data, tmp_dir=self.root, sync=False)
                self._evict()
        except OSError as e:
            log.warning("layer cache at %s not written: %s", self.root, e)

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for kind in (*_KINDS, RULES):
            with suppress(OSError):
                for path in (self.root / kind).iterdir():
                    if not path.name.endswith(_ENTRY):
                        continue
                    with suppress(OSError):
                        st = path.stat()
                        out.append((st.st_mtime, st.st_size, path))
        return out

    def _evict(self) -> None:
        """Oldest first until the entries fit; stale tmp files of dead writers go too."""
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            with suppress(OSError):
                path.unlink()
                total -= size
        now = time.time()
        for path in self.root.glob("tmp-*"):
            with suppress(OSError):
                if now - path.stat().st_mtime > _STALE_TMP:
                    path.unlink()

    def info(self) -> CacheInfo:
        entries = self._entries()
        kinds = [path.parent.name for _, _, path in entries]
        return CacheInfo(path=self.root, layers=kinds.count("layers"),
                         inventories=kinds.count("inventories"), results=kinds.count("images"),
                         bytes=sum(size for _, size, _ in entries), max_bytes=self.max_bytes,
                         rule_sets=kinds.count(RULES), trees=kinds.count("trees"),
                         matches=kinds.count("matches"))

    def clean(self) -> int:
        """Remove every entry; returns how many."""
        removed = 0
        with self._locked():
            for _, _, path in self._entries():
                with suppress(OSError):
                    path.unlink()
                    removed += 1
            for path in [*self.root.glob("tmp-*"), *self.compiled_rules.glob("tmp-*")]:
                with suppress(OSError):
                    path.unlink()
        return removed
