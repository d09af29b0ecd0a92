"""Build tar archives and read them both with ``tarfile`` and with our ``TarReader``."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Sequence
from typing import NamedTuple

from portcullis.layers.tar import TarReader

ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


class Entry(NamedTuple):
    name: str
    type: str
    size: int
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: str
    content: bytes


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", *, mode: int = 0o644,
           uid: int = 0, gid: int = 0, mtime: float = 1_700_000_000, linkname: str = "",
           devmajor: int = 0, devminor: int = 0) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    info.linkname = linkname
    info.devmajor, info.devminor = devmajor, devminor
    return info, data


def archive(members: Sequence[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT,
            pax_headers: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, pax_headers=pax_headers,
                      **ENCODING) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


def _kind(info: tarfile.TarInfo) -> str:
    if info.type in (tarfile.AREGTYPE, tarfile.GNUTYPE_SPARSE):
        return "0"
    return info.type.decode("latin-1")


def by_tarfile(data: bytes) -> list[Entry]:
    entries = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", **ENCODING) as tar:  # type: ignore[call-overload]
        for info in tar:
            content = b""
            if info.isreg():
                fileobj = tar.extractfile(info)
                assert fileobj is not None
                content = fileobj.read()
            entries.append(Entry(info.name, _kind(info), info.size, info.mode, info.uid,
                                 info.gid, int(info.mtime), info.linkname, content))
    return entries


def by_reader(data: bytes, chunk: int = 1 << 20, reader: TarReader | None = None) -> list[Entry]:
    reader = reader or TarReader(io.BytesIO(data))
    return [
        Entry(h.name, h.type, h.size, h.mode, h.uid, h.gid, h.mtime, h.linkname,
              b"".join(reader.chunks(chunk)))
        for h in reader
    ]


def offsets(data: bytes) -> list[int]:
    """tarfile's offset of each member's first header."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", **ENCODING) as tar:  # type: ignore[call-overload]
        return [info.offset for info in tar]


def header_block(name: bytes, kind: bytes = b"0", size: int = 0, *, magic: bytes = b"ustar\x0000",
                 prefix: bytes = b"", linkname: bytes = b"", mode: bytes = b"0000644\x00",
                 extra: dict[int, bytes] | None = None, signed: bool = False) -> bytes:
    """A hand-made 512-byte header (v7 when ``magic`` is empty), checksum filled in."""
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = mode
    block[108:116] = b"0001750\x00"
    block[116:124] = b"0001750\x00"
    block[124:136] = b"%011o\x00" % size
    block[136:148] = b"14532133400\x00"
    block[156:157] = kind
    block[157 : 157 + len(linkname)] = linkname
    block[257 : 257 + len(magic)] = magic
    block[345 : 345 + len(prefix)] = prefix
    for offset, value in (extra or {}).items():
        block[offset : offset + len(value)] = value
    block[148:156] = b" " * 8
    total = sum(b - 256 if b > 127 else b for b in block) if signed else sum(block)
    block[148:156] = b"%06o\x00 " % (total & 0o777777)
    return bytes(block)


def pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 512)


END = b"\x00" * 1024
