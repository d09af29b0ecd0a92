"""``dir:PATH``: an unpacked root filesystem, presented as a single synthetic layer.

The directory is streamed as an in-memory-bounded tar (via a pipe thread) so the same layer
pipeline reads it; symlinks are stored as links, never followed out of the directory. An
entry that cannot be read fails the scan (exit 2) rather than leaving a smaller tree behind.
Sockets, which a tar cannot hold, are passed over as tar itself does.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from portcullis.errors import ConfigError, SourceError
from portcullis.model.blob import Reader
from portcullis.model.image import ImageConfig, ImageInfo, LayerRef
from portcullis.source.base import ImageBase, SourceOptions
from portcullis.source.reference import ImageReference

PATH_MAX = 4096
"""Bytes in a path, as Linux allows (the layer tar reader allows as many characters)."""

# Not a real digest: a dir has none. Stable so the cache and reports stay deterministic.
_DIR_DIFF_ID = "sha256:" + "0" * 64


class RootfsImage(ImageBase):
    def __init__(self, root: Path, info: ImageInfo) -> None:
        super().__init__()
        self._root = root
        self.info = info

    def open_layer(self, layer: LayerRef) -> Reader:
        return DirectoryTar(self._root, self.info.reference)


class DirectoryTar:
    """The tar of a directory, written by a thread into a pipe and read from its other end.

    The walk stops at the first entry it cannot read (a file or folder the scanner may not
    open, an entry tar cannot describe). Then the stream does not simply end, which would look
    like a complete but smaller image: reading its end raises that error (exit 2), naming the
    entry.
    """

    def __init__(self, root: Path, what: str) -> None:
        self._root = root
        self._what = what
        self._error: BaseException | None = None
        read_fd, write_fd = os.pipe()
        self._pipe = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(target=self._write, args=(os.fdopen(write_fd, "wb"),),
                                        daemon=True)
        self._thread.start()

    def read(self, size: int = -1, /) -> bytes:
        data = self._pipe.read(size)
        if not data and size != 0:  # the end: say whether the walk got through
            self._thread.join()
            if self._error is not None:
                raise self._error
        return data

    def close(self) -> None:
        self._pipe.close()

    def _write(self, out: BinaryIO) -> None:
        try:
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for full in self._entries():
                    self._add(tar, full)
        except BrokenPipeError:
            pass  # the reader stopped early (a limit or an error of its own): nothing to add
        except BaseException as e:  # kept for the reader: a walk that failed never ends quietly,
            self._error = e  # and nothing escapes the thread ("Exception in thread" noise)
        finally:
            with contextlib.suppress(OSError):
                out.close()

    def _add(self, tar: tarfile.TarFile, full: Path) -> None:
        try:
            tar.add(str(full), arcname=str(full.relative_to(self._root)), recursive=False)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as e:
            raise self._unreadable(full, e) from e

    def _entries(self) -> Iterator[Path]:
        """Every entry below the root, folders before their contents, in name order; symlinks
        are entries, never followed. A folder that cannot be listed raises, and so does a path
        longer than PATH_MAX: no real root filesystem has one.

        Depth-first with a stack of sorted listings rather than recursion (os.walk recurses on
        Python 3.11, and a tree 1,000+ levels deep overflowed it) and without an open directory
        per level (a deep tree would run out of file descriptors): memory grows with the
        entries listed, time with the entries.
        """
        pending: list[tuple[Path, bool]] = [(self._root, True)]
        while pending:
            folder, is_dir = pending.pop()
            if folder != self._root:
                yield folder
            if not is_dir:
                continue
            # Reversed onto the stack so that they come off it in name order.
            for name, child_is_dir in reversed(self._list(folder)):
                full = folder / name
                # The kernel's limit is on the whole path (in bytes) a call is given.
                if len(os.fsencode(full)) >= PATH_MAX:
                    raise self._too_long(full)
                pending.append((full, child_is_dir))

    def _list(self, folder: Path) -> list[tuple[str, bool]]:
        """The names in ``folder``, sorted, each with whether it is a folder (not a link)."""
        try:
            with os.scandir(folder) as listing:
                return sorted((e.name, e.is_dir(follow_symlinks=False)) for e in listing)
        except OSError as e:
            raise self._unreadable(folder, e) from e

    def _too_long(self, full: Path) -> SourceError:
        where = self._inside(full)
        return SourceError(f"{self._what}: path longer than {PATH_MAX} bytes at {where}")

    def _unreadable(self, full: Path, error: Exception) -> SourceError:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        return SourceError(f"{self._what}: cannot read {self._inside(full)} ({reason})")

    def _inside(self, full: Path) -> str:
        """Where ``full`` is in the image, cut to 100 characters: errors stay one short line."""
        inside = full.relative_to(self._root).as_posix()
        where = "/" if inside == "." else f"/{inside}"
        return where if len(where) <= 100 else where[:100] + "…"


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
