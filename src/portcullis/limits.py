"""Resource limits: an image is hostile input until proven otherwise."""

from __future__ import annotations

import msgspec

GiB = 1 << 30
MiB = 1 << 20


class ScanLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Defaults fit real images of several GB; tests and cautious users set them lower.

    - ``max_image_size``: compressed bytes of all layer blobs together.
    - ``max_layer_size``: compressed bytes of one layer blob.
    - ``max_layer_bytes``: decompressed bytes of one layer (the decompression-bomb guard).
    - ``max_image_bytes``: decompressed bytes of all layers together.
    - ``max_files``: tar entries in the whole image.
    - ``max_capture_size``: largest file an analyzer may capture into memory/spool.
    - ``max_capture_total``: bytes all captured files together may take in the spool (the
      temp dir): zeros compress so well that a small image can hold gigabytes of jars.
    - ``max_metadata_size``: largest manifest, index or config document we parse.
    """

    max_image_size: int = 64 * GiB
    max_layer_size: int = 32 * GiB
    max_layer_bytes: int = 64 * GiB
    max_image_bytes: int = 256 * GiB
    max_files: int = 5_000_000
    max_capture_size: int = 64 * MiB
    max_capture_total: int = 4 * GiB
    max_metadata_size: int = 16 * MiB
    max_symlink_depth: int = 40
