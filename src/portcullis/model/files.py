"""Files inside an image: metadata from tar headers, and where a thing was found."""

from __future__ import annotations

import posixpath
import stat
from enum import StrEnum
from typing import Any

import msgspec


class FileKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


FILE_KINDS = (FileKind.FILE, FileKind.HARDLINK)
"""What ``FileMeta.is_file`` means. Hot loops over every entry test ``meta.kind in
FILE_KINDS`` inline: a property call per entry costs more than the test (tuple membership
checks identity first, then str equality, both in C)."""


# FileMeta, Change and FileEntry: gc=False keeps them out of the cyclic collector. An image
# has one or two of each per tar entry (100k+ on large images), and every collection walked
# them all; they cannot be part of a cycle (their fields are strings, ints, a FileKind, None,
# and each other, never a container that could point back). On a 100k-file image a
# packages,files,base-image scan took ~15% less CPU.
class FileMeta(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One tar entry of one layer. ``path`` is absolute and normalised.

    For a symlink ``linkname`` is the raw target as stored; for a hard link it is the
    normalised absolute path of the file it links to.
    """

    path: str
    kind: FileKind
    size: int = 0
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    linkname: str | None = None

    @property
    def is_file(self) -> bool:
        return self.kind in FILE_KINDS

    @property
    def is_dir(self) -> bool:
        return self.kind is FileKind.DIR

    @property
    def is_executable(self) -> bool:
        return self.is_file and bool(self.mode & 0o111)

    @property
    def setuid(self) -> bool:
        return bool(self.mode & stat.S_ISUID)

    @property
    def setgid(self) -> bool:
        return bool(self.mode & stat.S_ISGID)


class Change(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one layer did to a path."""

    layer: int
    action: str  # "add", "modify", "delete"


class FileEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A version of a path in the squashed image.

    ``layer`` wrote this version; ``history`` lists every layer that touched the path, bottom
    first; ``introduced_in`` is where its current unbroken existence began; ``visible`` is
    False for versions a later layer deleted or overwrote (their bytes are still in the image).
    """

    meta: FileMeta
    layer: int
    history: tuple[Change, ...] = msgspec.field(default_factory=tuple)
    visible: bool = True
    removed_in: int | None = None

    @property
    def path(self) -> str:
        return self.meta.path

    @property
    def introduced_in(self) -> int:
        start = self.layer
        for change in reversed(self.history):
            if change.layer > self.layer:
                continue
            if change.action == "delete":
                break
            start = change.layer
            if change.action == "add":
                break
        return start


class Location(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    layer: int | None = None
    line: int | None = None
    visible: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "line": self.line, "visible": self.visible}


def normalize(path: str) -> str:
    """Absolute, normalised POSIX path; ``..`` stops at the root."""
    # Most paths (tar names made absolute, dpkg lists, globbed entries) are normal already:
    # called tens of thousands of times a scan, they skip normpath. Anything with a
    # backslash, an empty, "." or ".." part (or a dot file: "/." is a cheap over-match) or a
    # trailing slash takes the full route.
    if (path.startswith("/") and "//" not in path and "/." not in path and "\\" not in path
            and not path.endswith("/")):
        return path
    return posixpath.normpath("/" + path.replace("\\", "/").lstrip("/")).replace("//", "/")
