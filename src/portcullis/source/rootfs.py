"""``dir:PATH``: an unpacked root filesystem, presented as a single synthetic layer.

The directory is streamed as an in-memory-bounded tar (via a pipe thread) so the same layer
pipeline reads it; symlinks are stored as links, never followed out of the directory.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import threading
from pathlib import Path

from portcullis.errors import ConfigError
from portcullis.model.blob import Reader
from portcullis.model.image import ImageConfig, ImageInfo, LayerRef
from portcullis.source.base import ImageBase, SourceOptions
from portcullis.source.reference import ImageReference

# Not a real digest: a dir has none. Stable so the cache and reports stay deterministic.
_DIR_DIFF_ID = "sha256:" + "0" * 64


class RootfsImage(ImageBase):
    def __init__(self, root: Path, info: ImageInfo) -> None:
        super().__init__()
        self._root = root
        self.info = info

    def open_layer(self, layer: LayerRef) -> Reader:
        read_fd, write_fd = os.pipe()
        reader = os.fdopen(read_fd, "rb")
        writer = os.fdopen(write_fd, "wb")
        thread = threading.Thread(target=_write_tar, args=(self._root, writer), daemon=True)
        thread.start()
        return reader


def _write_tar(root: Path, out: object) -> None:
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames.sort()
                for name in sorted(dirnames) + sorted(filenames):
                    full = Path(dirpath) / name
                    arc = str(full.relative_to(root))
                    try:
                        tar.add(str(full), arcname=arc, recursive=False)
                    except OSError:
                        continue  # unreadable file: skipped, like a permission-denied walk
    except (BrokenPipeError, ValueError):
        pass  # the reader stopped early (limit or error): nothing more to do
    finally:
        with contextlib.suppress(OSError):
            out.close()  # type: ignore[attr-defined]


def open_rootfs(ref: ImageReference, options: SourceOptions) -> RootfsImage:
    if ref.path is None or not ref.path.is_dir():
        raise ConfigError(f"{ref.text}: not a directory")
    config = ImageConfig(diff_ids=(_DIR_DIFF_ID,))
    layer = LayerRef(index=0, diff_id=_DIR_DIFF_ID, digest=None, size=None,
                     created_by=f"dir:{ref.path}")
    info = ImageInfo(
        reference=ref.text,
        source="dir",
        manifest_digest=None,
        config_digest=None,
        config=config,
        layers=(layer,),
    )
    return RootfsImage(ref.path, info)
