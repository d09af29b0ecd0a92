"""The sha256 of several layer blobs, read to their ends, on a few threads at once.

Before a cached result is used, the blobs it was made from are hashed again (see
layer_cache.py: an entry is served only for bytes hashed in this scan). hashlib and file reads
release the GIL, so on an image whose layers are separate files (an OCI layout or a docker
archive unpacked in a folder: the image says so with ``concurrent_reads``) the blobs are hashed
in parallel. Other sources (one tar holding every blob, a registry) read them one by one.
Memory: one chunk per thread. A source that checks a sha256 digest while the blob is read
reports the hash it computed, so such a blob is hashed once, not twice.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from portcullis.analyze.layer_cache import blob_sha256
from portcullis.model.blob import Image
from portcullis.model.image import LayerRef
from portcullis.progress import Progress

MAX_THREADS = 4
CHUNK = 1 << 20


def hash_blobs(image: Image, layers: Sequence[LayerRef], progress: Progress) -> list[str]:
    """The sha256 (hex) of each layer's raw blob, in the order of ``layers``. Errors of the
    source (a missing blob, a digest mismatch at EOF) propagate."""
    threads = min(MAX_THREADS, os.cpu_count() or 1, len(layers))
    if threads <= 1 or getattr(image, "concurrent_reads", False) is not True:
        return [_hash_one(image, layer, progress) for layer in layers]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="blob-hash") as pool:
        return list(pool.map(lambda layer: _hash_one(image, layer, progress), layers))


def _hash_one(image: Image, layer: LayerRef, progress: Progress) -> str:
    key = f"layer-{layer.index}"
    progress.start(key, f"layer {layer.index + 1}/{len(image.info.layers)}", layer.size)
    raw = image.open_layer(layer)
    try:
        if getattr(raw, "checks_sha256", False) is not True:
            return blob_sha256(raw)
        # The source checks the bytes against a sha256 digest as they are read: reading to
        # the end (it raises on a mismatch there) gives their hash, hashed once, in this scan.
        while raw.read(CHUNK):
            pass
        found = getattr(raw, "sha256", None)
        if not isinstance(found, str):
            raise RuntimeError(f"layer {layer.index}: the source did not report the blob hash")
        return found
    finally:
        raw.close()
        progress.finish(key)
