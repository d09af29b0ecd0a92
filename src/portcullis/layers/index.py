"""Read one layer's tar stream once and index every entry's metadata.

Content is read only for the files someone asked for (``ContentSink.open``), in chunks, so a
file of any size costs constant memory; everything else is skipped in the stream. Nothing is
written to disk here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

from portcullis.errors import LimitExceededError
from portcullis.layers import whiteout
from portcullis.layers.stream import LayerStream
from portcullis.layers.tar import TarHeader, TarReader
from portcullis.limits import ScanLimits
from portcullis.model.files import FileKind, FileMeta, normalize
from portcullis.model.finding import Warning

_CHUNK = 1 << 20

# Tar type flags (see layers/tar.py: sparse and contiguous files come out as "0").
_KINDS = {
    "0": FileKind.FILE,
    "7": FileKind.FILE,
    "5": FileKind.DIR,
    "2": FileKind.SYMLINK,
    "1": FileKind.HARDLINK,
    "3": FileKind.CHAR,
    "4": FileKind.BLOCK,
    "6": FileKind.FIFO,
}


class ContentConsumer(Protocol):
    """Receives one file's bytes in order, then ``finish`` once."""

    def update(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...


class ContentSink(Protocol):
    """The engine's side of the layer pass: it decides which files' bytes it wants."""

    def open(self, layer: int, meta: FileMeta) -> ContentConsumer | None: ...

    def link(self, layer: int, meta: FileMeta, index: LayerIndex) -> None:
        """A hard link was indexed: its content is the target's, read earlier."""
        ...


class LayerIndex(msgspec.Struct):
    layer: int
    entries: dict[str, FileMeta] = msgspec.field(default_factory=dict)
    deleted: set[str] = msgspec.field(default_factory=set)
    opaque: set[str] = msgspec.field(default_factory=set)
    warnings: list[Warning] = msgspec.field(default_factory=list)
    file_bytes: int = 0
    tar_bytes: int = 0
    compression: str = "none"

    def warn(self, message: str, path: str | None = None, analyzer: str | None = None) -> None:
        self.warnings.append(
            Warning(message=message, path=path, layer=self.layer, analyzer=analyzer)
        )


class FileCounter(msgspec.Struct):
    limit: int
    count: int = 0

    def add(self, where: str) -> None:
        self.count += 1
        if self.count > self.limit:
            raise LimitExceededError("max_files", self.limit, where)

    def add_many(self, count: int, where: str) -> None:
        """``count`` entries at once (a layer whose index came from the layer cache)."""
        self.count += count
        if self.count > self.limit:
            raise LimitExceededError("max_files", self.limit, where)


def safe_name(raw: str) -> str | None:
    """The absolute in-image path of a tar member, or None if it climbs above the root."""
    plain = raw[2:] if raw.startswith("./") else raw
    if (plain and plain[0] not in "./" and plain[-1] != "/" and "//" not in plain
            and "/." not in plain and "\\" not in plain):
        # The common name ("usr/bin/ls", "./etc/passwd"): no part is empty, "." or "..",
        # nothing to normalise. Any name with a part starting with a dot takes the long way.
        return "/" + plain
    depth = 0
    for part in raw.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return None
        else:
            depth += 1
    return normalize(raw)


def _meta(member: TarHeader, path: str, kind: FileKind) -> FileMeta:
    linkname: str | None = None
    if kind is FileKind.SYMLINK:
        linkname = member.linkname
    elif kind is FileKind.HARDLINK:
        linkname = normalize(member.linkname)
    return FileMeta(
        path=path,
        kind=kind,
        size=member.size if kind is FileKind.FILE else 0,
        mode=member.mode,
        uid=member.uid,
        gid=member.gid,
        mtime=member.mtime,
        linkname=linkname,
    )


def index_layer(
    stream: LayerStream,
    layer: int,
    *,
    sink: ContentSink,
    limits: ScanLimits,
    counter: FileCounter,
    what: str,
    on_bytes: Callable[[int], None] | None = None,
) -> LayerIndex:
    """Index every entry of one layer's tar. Damage (a bad header checksum, a truncated
    member) raises ``TarFormatError`` with its offset: never a silent end of the layer."""
    index = LayerIndex(layer=layer, compression=stream.compression)
    reader = TarReader(stream, what=what,
                       on_warning=lambda message, offset: index.warn(message))
    reported = 0
    for member in reader:
        _add_member(reader, member, index, sink, counter, what)
        # The stream's total moves a chunk at a time: report it when it moved.
        if on_bytes is not None and stream.total != reported:
            reported = stream.total
            on_bytes(reported)
    reader.drain()
    stream.finish()
    index.tar_bytes = stream.total
    return index


def _add_member(
    reader: TarReader,
    member: TarHeader,
    index: LayerIndex,
    sink: ContentSink,
    counter: FileCounter,
    what: str,
) -> None:
    counter.add(what)
    path = safe_name(member.name)
    if path is None:
        index.warn(f"tar entry {member.name!r} escapes the image root; ignored", member.name)
        return
    wh = whiteout.classify(path)
    if wh is not None:
        action, target = wh
        if action == "delete":
            index.deleted.add(target)
        elif action == "opaque":
            index.opaque.add(target)
        return
    kind = _KINDS.get(member.type)
    if kind is None:
        index.warn(f"unsupported tar entry type {member.type!r}; ignored", path)
        return
    if path == "/" and kind is not FileKind.DIR:
        index.warn("a non-directory entry replaces the root; ignored", path)
        return
    meta = _meta(member, path, kind)
    if kind is FileKind.HARDLINK and safe_name(member.linkname) is None:
        index.warn(f"hard link target {member.linkname!r} escapes the image root", path)
    index.entries[path] = meta
    if kind is FileKind.FILE:
        index.file_bytes += member.size
        consumer = sink.open(index.layer, meta)
        if consumer is not None:
            for chunk in reader.chunks(_CHUNK):
                consumer.update(chunk)
            consumer.finish()
    elif kind is FileKind.HARDLINK:
        sink.link(index.layer, meta, index)
