"""Read a tar stream header by header, without ``tarfile``.

Why not ``tarfile``: its stream mode ("r|") concatenates and slices bytes for every block, which
made indexing a layer three times slower than inflating it, and it silently stops at a lone zero
block, hiding every member after it. This reader keeps one buffer, parses a header with one
``struct`` call, sums it with two ``adler32`` calls and skips unwanted content without copying.

Formats: v7, ustar (with the prefix field), GNU (magic ``ustar  \\0``: long names 'L', long links
'K', old sparse files 'S', base-256 numbers), pax ('x' for one member, 'g' for all that follow;
path, linkpath, size, uid, gid, mtime and the GNU.sparse keys are used, the rest is ignored).
Names are bytes in tar: they are decoded as UTF-8 with ``surrogateescape``, so a non-UTF-8 name
survives (``name.encode("utf-8", "surrogateescape")`` gives the bytes back).

Decisions:

- Content follows regular files ('0', '\\0', '7'), sparse files and unknown types, as in
  ``tarfile``; the size field of links, directories, devices and fifos announces no content.
- A name or link target longer than ``max_name`` characters: the entry is skipped with a
  warning and the rest of the archive is read. Extended headers (pax, 'L', 'K') over
  ``max_meta`` bytes: ``TarFormatError`` before anything is allocated for them.
- Sparse files (GNU 'S', pax GNU.sparse.*) are yielded as regular files ('0') with their real
  size and ``sparse=True``; ``chunks()`` yields the data stored in the archive, not the expanded
  file (for pax sparse 1.0 that includes the sparse map in front of the data).
- EOF where a header would start ends the archive (many tools omit the two end blocks). EOF
  inside a header, an extended header, a member's content or its padding is truncation.
- A single zero block followed by a valid header: a warning, and reading goes on. Two zero
  blocks (or a zero block followed by something that is not a header) end the archive; a
  non-zero byte after the end is reported once as a warning, the bytes are not parsed.

Use::

    reader = TarReader(stream, what="layer 2", on_warning=lambda message, offset: ...)
    for header in reader:
        if wanted(header):
            data = b"".join(reader.chunks())
    reader.drain()  # before LayerStream.finish(): adds the data-after-the-end check
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import msgspec

from portcullis.errors import TarFormatError

BLOCK = 512
_BUFFER = 1 << 20
_NUMBERS = struct.Struct("8s8s8s12s12s8s")  # mode uid gid size mtime chksum, at offset 100
_OCTAL = (8,) * 6
_BLANKS = bytes.maketrans(b"\x00", b" ")
_SIGNED = struct.Struct("148b8x356b")  # the historic signed checksum, without the chksum field
_CHKSUM = slice(148, 156)
_USTAR = b"ustar\x00"
_NO_CONTENT = frozenset("123456")
_PAX = frozenset("xX")  # 'X' is Solaris' name for a per-file pax header
_SPARSE_EXTENDED = 504  # offset of the "another block follows" flag in a GNU sparse block
_PAX_TIME = re.compile(rb"(-?)(\d+)(?:\.\d*)?([eE][-+]?\d{1,4})?")
_MAX_LENGTH_DIGITS = 20  # a pax record length longer than this is nonsense
_MAX_DIGITS = 30  # nor a size, id or time of more digits (and int() would be slow on them)


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TarHeader(msgspec.Struct):
    """One member. ``type`` is the tar type flag ('0' file, '1' hard link, '2' symlink,
    '3' char device, '4' block device, '5' directory, '6' fifo, '7' contiguous file, or an
    unknown flag as found); ``offset`` is where its first header (extended ones included)
    starts in the tar."""

    name: str
    type: str
    size: int
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: str
    offset: int
    sparse: bool = False


class TarReader:
    """Iterate the members of a tar stream; read the current member's content with
    ``chunks()``. Content not read is skipped when the next member is asked for."""

    def __init__(
        self,
        stream: Readable,
        *,
        max_name: int = 4096,
        max_meta: int = 1 << 20,
        on_warning: Callable[[str, int], None] | None = None,
        what: str = "tar",
    ) -> None:
        self._stream = stream
        self._readinto: Callable[[memoryview], int | None] | None = getattr(
            stream, "readinto", None
        )
        self._max_name = max_name
        self._max_meta = max_meta
        self._on_warning = on_warning
        self._what = what
        self._buf = bytearray(_BUFFER)
        self._view = memoryview(self._buf)
        self._pos = 0  # next unread byte of _buf
        self._end = 0  # end of the bytes read into _buf
        self._base = 0  # tar offset of _buf[0]
        self._eof = False
        self._left = 0  # unread content of the current member
        self._pad = 0  # padding after that content
        self._member = 0  # offset of the current member's header
        self._global: dict[str, str] = {}
        self._trailing_reported = False
        self.ended = False
        """The archive's end was reached (end blocks or EOF at a header boundary)."""
        self.warnings: list[tuple[str, int]] = []
        """Every warning given, with its offset (also passed to ``on_warning``)."""

    @property
    def total(self) -> int:
        """Bytes of the tar consumed so far (the offset of the next unread byte)."""
        return self._base + self._pos

    # ------------------------------------------------------------------ public

    def __iter__(self) -> Iterator[TarHeader]:
        while not self.ended:
            rest = self._left + self._pad
            if rest <= self._end - self._pos:  # the common case, without a call
                self._pos += rest
            elif not self._skip(rest):
                raise self._error("truncated member (the stream ends inside its content)",
                                  self._member)
            self._left = self._pad = 0
            header = self._next()
            if header is None:
                self.ended = True
                return
            yield header

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The current member's content, exactly its bytes (padding excluded)."""
        if size <= 0:
            raise ValueError("chunk size must be positive")
        while self._left:
            if self._pos == self._end and not self._refill():
                raise self._error("truncated member (the stream ends inside its content)",
                                  self._member)
            n = min(self._left, self._end - self._pos, size)
            chunk = bytes(self._view[self._pos : self._pos + n])
            self._pos += n
            self._left -= n
            yield chunk

    def drain(self) -> None:
        """Read the stream to its end after the archive ended, warning once if a non-zero
        byte follows the end. (A layer's stream must be read to the end anyway for its
        digest; this only adds the check.) Before the end, it only reads."""
        while True:
            if self.ended:
                self._check_trailing()
            self._pos = self._end
            if not self._refill():
                return

    # ------------------------------------------------------------------ headers

    def _next(self) -> TarHeader | None:
        """The next member, after its extended headers; None at the end of the archive."""
        first = self._base + self._pos
        local: dict[str, str] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            offset = self._base + self._pos
            if self._end - self._pos < BLOCK and not self._fill(BLOCK):
                if self._pos == self._end and offset == first:
                    return None  # EOF at a header boundary: no end blocks, accepted
                what = "header" if offset == first else "member after an extended header"
                raise self._error(f"truncated {what} (the stream ends inside it)", offset)
            pos = self._pos
            unsigned = _block_sum(self._view, pos)
            if unsigned == 0:
                if offset != first:
                    raise self._error("an extended header is followed by a zero block", offset)
                if self._zero_block():
                    return None
                first = self.total
                continue
            buf = self._buf
            try:
                # the common case in one go: NULs made blanks (int() skips blanks), six
                # octal fields, the checksum counted with its own field as eight blanks
                mode, uid, gid, size, mtime, expected = map(
                    int, _NUMBERS.unpack(buf[pos + 100 : pos + 156].translate(_BLANKS)), _OCTAL)
                if expected != unsigned - sum(buf[pos + 148 : pos + 156]) + 8 * 32:
                    raise ValueError
            except ValueError:
                mode, uid, gid, size, mtime = self._numbers(pos, unsigned, offset)
            if size < 0:
                raise self._error("invalid tar header (negative size)", offset)
            self._pos += BLOCK
            kind = chr(buf[pos + 156])
            if kind in "xXgLK":
                data = self._meta(kind, size, offset)
                try:
                    if kind in _PAX:
                        local.update(_pax_records(data))
                    elif kind == "g":
                        _update_global(self._global, _pax_records(data))
                        if not local and long_name is None and long_link is None:
                            first = self._base + self._pos  # it belongs to no member
                    elif kind == "L":
                        long_name = _text(data)
                    else:
                        long_link = _text(data)
                except ValueError as e:
                    raise self._error(f"invalid tar header ({e})", offset) from None
                continue
            end = buf.find(0, pos, pos + 100)
            header = TarHeader(
                name=buf[pos : end if end >= 0 else pos + 100].decode("utf-8", "surrogateescape"),
                type=kind,
                size=size,
                mode=mode,
                uid=uid,
                gid=gid,
                mtime=mtime,
                linkname=_text(bytes(buf[pos + 157 : pos + 257])) if buf[pos + 157] else "",
                offset=first,
            )
            stored = size
            if kind == "S":
                header.size = self._gnu_sparse(pos, offset)
                header.type = "0"
                header.sparse = True
            else:
                if kind == "\x00":
                    # v7 marks a directory by a trailing slash on a regular file
                    header.type = "5" if header.name.endswith("/") else "0"
                if buf[pos + 345] and buf[pos + 257 : pos + 263] == _USTAR:
                    header.name = _text(bytes(buf[pos + 345 : pos + 500])) + "/" + header.name
            if long_name is not None:
                header.name = long_name
            if long_link is not None:
                header.linkname = long_link
            if local or self._global:
                stored = self._apply_pax(header, stored, first, local)
            if header.type == "5":
                header.name = header.name.rstrip("/")
            if header.type in _NO_CONTENT:
                stored = 0
            if len(header.name) > self._max_name or len(header.linkname) > self._max_name:
                self._warn(
                    f"tar entry name or link target longer than {self._max_name} "
                    f"characters at offset {first}; entry skipped",
                    first,
                )
                if not self._skip(stored + (-stored % BLOCK)):
                    raise self._error("truncated member (the stream ends inside its content)",
                                      first)
                first = self.total
                local, long_name, long_link = {}, None, None
                continue
            self._member = first
            self._left = stored
            self._pad = -stored % BLOCK
            return header

    def _numbers(self, pos: int, unsigned: int, offset: int) -> tuple[int, int, int, int, int]:
        """Check the checksum and parse mode, uid, gid, size and mtime the slow way: the
        fields are not all plain octal (base-256, empty, garbage), or the checksum is off."""
        if not self._checksum_ok(pos, unsigned):
            raise self._error("bad tar header checksum", offset)
        view = self._view
        try:
            return (_number(bytes(view[pos + 100 : pos + 108])),
                    _number(bytes(view[pos + 108 : pos + 116])),
                    _number(bytes(view[pos + 116 : pos + 124])),
                    _number(bytes(view[pos + 124 : pos + 136])),
                    _number(bytes(view[pos + 136 : pos + 148])))
        except ValueError as e:
            raise self._error(f"invalid tar header ({e})", offset) from None

    def _checksum_ok(self, pos: int, unsigned: int) -> bool:
        field = bytes(self._view[pos + _CHKSUM.start : pos + _CHKSUM.stop])
        try:
            expected = _number(field)
        except ValueError:
            return False
        # the checksum is computed with its own field as eight spaces
        if expected == unsigned - sum(field) + 8 * 32:
            return True
        signed: int = sum(_SIGNED.unpack_from(self._buf, pos))
        return expected == signed + 8 * 32

    def _zero_block(self) -> bool:
        """Consume a zero block at the current position; True if it ends the archive."""
        offset = self.total
        self._pos += BLOCK
        if not self._fill(BLOCK):
            self._check_trailing()
            return True
        pos = self._pos
        unsigned = _block_sum(self._view, pos)
        if unsigned == 0:
            self._pos += BLOCK
            self._check_trailing()
            return True
        if self._checksum_ok(pos, unsigned):
            self._warn(f"zero block in the middle of the archive at offset {offset}; "
                       "reading on", offset)
            return False
        self._check_trailing()
        return True

    def _meta(self, kind: str, size: int, offset: int) -> bytes:
        """The content of an extended header ('x', 'g', 'L', 'K'), padding consumed."""
        if size > self._max_meta:
            raise self._error(
                f"extended header ({kind!r}) of {size} bytes is over the limit of "
                f"{self._max_meta}", offset)
        data = self._take(size)
        if data is None or not self._skip(-size % BLOCK):
            raise self._error(f"truncated extended header ({kind!r})", offset)
        return data

    def _apply_pax(self, header: TarHeader, stored: int, offset: int,
                   local: dict[str, str]) -> int:
        """Apply pax records to ``header``; return the size of the content in the archive."""
        records = {**self._global, **local} if self._global else local
        for key, value in records.items():
            if not value:
                continue  # an empty value unsets the key (POSIX)
            if key == "path":
                header.name = value.rstrip("/")
            elif key == "linkpath":
                header.linkname = value
            elif key == "size":
                stored = header.size = self._pax_int(key, value, offset)
            elif key in ("uid", "gid"):
                setattr(header, key, self._pax_int(key, value, offset))
            elif key == "mtime":
                header.mtime = self._pax_time(value, offset)
        sparse_name = records.get("GNU.sparse.name")
        if sparse_name:
            header.name = sparse_name
        real = records.get("GNU.sparse.realsize") or records.get("GNU.sparse.size")
        if real:
            header.size = self._pax_int("GNU.sparse.realsize", real, offset)
            header.sparse = True
        return stored

    def _pax_time(self, value: str, offset: int) -> int:
        """Whole seconds of a pax time: decimal per POSIX, exponent notation too (Python's
        tarfile writes ``repr(float)``); truncated toward zero like ``int(float)``."""
        match = _PAX_TIME.fullmatch(value.encode("ascii", "replace"))
        if match is None or len(match.group(2)) > _MAX_DIGITS:
            raise self._error(f"invalid pax record mtime={value[:40]!r}", offset)
        if not match.group(3):
            return int(match.group(1) + match.group(2))
        seconds = float(value)
        if not math.isfinite(seconds) or abs(seconds) >= 10.0**_MAX_DIGITS:
            raise self._error(f"invalid pax record mtime={value[:40]!r}", offset)
        return int(seconds)

    def _pax_int(self, key: str, value: str, offset: int) -> int:
        if not (value.isascii() and value.isdigit()) or len(value) > _MAX_DIGITS:
            raise self._error(f"invalid pax record {key}={value[:40]!r}", offset)
        return int(value)

    def _gnu_sparse(self, pos: int, offset: int) -> int:
        """The real size of an old GNU sparse file; consumes its extension blocks (the map of
        its data regions, which this reader does not use)."""
        try:
            real = _number(bytes(self._view[pos + 483 : pos + 495]))
            if real < 0:
                raise ValueError("negative real size")
        except ValueError as e:
            raise self._error(f"invalid GNU sparse header ({e})", offset) from None
        extended = self._buf[pos + 482]
        read = 0
        while extended:
            read += BLOCK
            if read > self._max_meta:
                raise self._error("GNU sparse map over the extended header limit", offset)
            if not self._fill(BLOCK):
                raise self._error("truncated GNU sparse header", offset)
            extended = self._buf[self._pos + _SPARSE_EXTENDED]
            self._pos += BLOCK
        return real

    # ------------------------------------------------------------------ buffer

    def _refill(self) -> bool:
        """Read more of the stream into the buffer, dropping consumed bytes first."""
        if self._eof:
            return False
        avail = self._end - self._pos
        if self._pos:
            if avail:
                self._buf[:avail] = self._buf[self._pos : self._end]
            self._base += self._pos
            self._pos, self._end = 0, avail
        target = self._view[self._end :]
        if not target:
            return True  # full of unread bytes: callers never need more than the buffer
        if self._readinto is not None:
            n = self._readinto(target) or 0
        else:
            data = self._stream.read(len(target))
            n = len(data)
            target[:n] = data
        if not n:
            self._eof = True
            return False
        self._end += n
        return True

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available at ``_pos``; False if the stream ends first."""
        while self._end - self._pos < need:
            if not self._refill():
                return False
        return True

    def _skip(self, n: int) -> bool:
        """Consume ``n`` bytes; False if the stream ends first."""
        while n > self._end - self._pos:
            n -= self._end - self._pos
            self._pos = self._end
            if not self._refill():
                return False
        self._pos += n
        return True

    def _take(self, n: int) -> bytes | None:
        """The next ``n`` bytes as a copy (for small extended headers only)."""
        if not self._fill(min(n, _BUFFER // 2)):
            return None
        if self._end - self._pos >= n:
            data = bytes(self._view[self._pos : self._pos + n])
            self._pos += n
            return data
        parts = bytearray()
        while len(parts) < n:
            if self._pos == self._end and not self._refill():
                return None
            k = min(n - len(parts), self._end - self._pos)
            parts += self._view[self._pos : self._pos + k]
            self._pos += k
        return bytes(parts)

    def _check_trailing(self) -> None:
        """Warn once if the unread part of the buffer holds a non-zero byte."""
        if self._trailing_reported or self._pos >= self._end:
            return
        if self._buf.count(0, self._pos, self._end) == self._end - self._pos:
            return
        rest = bytes(self._view[self._pos : self._end])
        offset = self.total + len(rest) - len(rest.lstrip(b"\x00"))
        self._trailing_reported = True
        self._warn(f"data after the end of the archive at offset {offset}; ignored", offset)

    # ------------------------------------------------------------------ reporting

    def _warn(self, message: str, offset: int) -> None:
        self.warnings.append((message, offset))
        if self._on_warning is not None:
            self._on_warning(message, offset)

    def _error(self, message: str, offset: int) -> TarFormatError:
        return TarFormatError(f"{self._what}: {message} at offset {offset}", offset)


def _block_sum(view: memoryview, pos: int) -> int:
    """Sum of the 512 bytes at ``pos``. adler32's low half is 1 + the byte sum modulo 65521;
    over 256 bytes the sum is at most 65280, so two halves give the exact sum in C."""
    return ((zlib.adler32(view[pos : pos + 256]) & 0xFFFF)
            + (zlib.adler32(view[pos + 256 : pos + 512]) & 0xFFFF) - 2)


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 (first byte 0x80, or 0xff for a
    negative two's complement number)."""
    try:
        # the common case: octal digits ended by NULs or spaces (int() skips leading blanks)
        return int(field.rstrip(b"\x00 "), 8)
    except ValueError:
        return _number_slow(field)


def _number_slow(field: bytes) -> int:
    if field and field[0] & 0x80:
        if field[0] == 0xFF:
            return int.from_bytes(field, "big", signed=True)
        if field[0] == 0x80:
            return int.from_bytes(field[1:], "big")
        raise ValueError(f"bad numeric field {field!r}")
    end = field.find(b"\x00")
    digits = (field if end < 0 else field[:end]).strip()
    if not digits:
        return 0
    if not digits.isdigit() or b"8" in digits or b"9" in digits:
        raise ValueError(f"bad numeric field {field!r}")
    return int(digits, 8)


def _text(field: bytes) -> str:
    return field.partition(b"\x00")[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    """Parse ``"<length> <key>=<value>\\n"`` records (UTF-8; invalid bytes kept with
    surrogateescape). Trailing NULs end the list, as in tarfile."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + _MAX_LENGTH_DIGITS + 1)
        digits = data[pos:space]
        if space < 0 or not digits.isdigit():
            raise ValueError(f"bad pax record length at byte {pos} of the pax header")
        end = pos + int(digits)
        if end > len(data) or end <= space + 1 or data[end - 1] != 0x0A:
            raise ValueError(f"bad pax record at byte {pos} of the pax header")
        key, eq, value = data[space + 1 : end - 1].partition(b"=")
        if not eq or not key:
            raise ValueError(f"pax record without a key at byte {pos} of the pax header")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8",
                                                                       "surrogateescape")
        pos = end
    return records


def _update_global(into: dict[str, str], records: dict[str, str]) -> None:
    for key, value in records.items():
        if value:
            into[key] = value
        else:
            into.pop(key, None)  # an empty value unsets the key (POSIX)
