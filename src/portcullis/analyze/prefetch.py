"""Find the layer cache entries a scan will use, and hash their blobs all at once.

The engine takes layers bottom-up, and a layer's key holds the verified hashes of the layers
below (layer_cache.py), so found one by one each hit would wait for the hash of the blob
below. Here the chain of keys is followed ahead, taking each entry's recorded blob hash as the
layer's (a guess), and the blobs of every entry found are then hashed together
(``blob_hashes``). The guesses decide only which blobs are hashed early: the engine still
computes each key from the hashes it verified, and serves an entry only when the blob hashed
in this scan is the one the entry recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from portcullis.analyze.layer_cache import (
    CachedImage,
    CachedInventory,
    CachedLayer,
    LayerCache,
    layer_key,
)
from portcullis.analyze.tree_reuse import TreeRecord, TreeRecords
from portcullis.model.blob import Image
from portcullis.model.image import LayerRef


class ScanCache:
    """A ``LayerCache`` for one scan: the entries already read, and the sha256 of the blobs
    hashed in this scan (by layer index), in front of the cache itself."""

    def __init__(self, inner: LayerCache) -> None:
        self.inner = inner
        self.entries: dict[str, CachedLayer] = {}
        self.hashed: dict[int, str] = {}

    def get(self, key: str) -> CachedLayer | None:
        found = self.entries.pop(key, None)  # used once: no second copy kept
        return found if found is not None else self.inner.get(key)

    def put(self, key: str, layer: CachedLayer) -> None:
        self.inner.put(key, layer)

    def get_inventory(self, key: str) -> CachedInventory | None:
        return self.inner.get_inventory(key)

    def put_inventory(self, key: str, inventory: CachedInventory) -> None:
        self.inner.put_inventory(key, inventory)

    def get_image(self, key: str) -> CachedImage | None:
        return self.inner.get_image(key)

    def put_image(self, key: str, image: CachedImage) -> None:
        self.inner.put_image(key, image)

    def get_tree(self, key: str) -> TreeRecords | None:
        return self.inner.get_tree(key)

    def put_tree(self, key: str, record: TreeRecord) -> None:
        self.inner.put_tree(key, record)


def prefetch(image: Image, cache: ScanCache, salt: str, verify: bool,
             hash_blobs: Callable[[Sequence[LayerRef]], list[str]]) -> None:
    """Read the entries of the bottom layers that the cache seems to hold, and hash those
    layers' blobs (those not hashed yet, with ``hash_blobs``) into ``cache.hashed``."""
    below: list[str] = []
    todo: list[LayerRef] = []
    for layer in image.info.layers:
        key = layer_key(salt, below, layer)
        entry = cache.inner.get(key)
        if entry is None or (verify and entry.diff_id != layer.diff_id):
            break
        known = cache.hashed.get(layer.index)
        if known is not None and known != entry.blob_sha256:
            break  # other bytes: the layers from here on are read
        cache.entries[key] = entry
        if known is None:
            todo.append(layer)
        below.append(entry.blob_sha256)
    for layer, blob in zip(todo, hash_blobs(todo), strict=True):
        cache.hashed[layer.index] = blob
