"""TarReader on random archives (same result as tarfile) and on random damage (members or a
TarFormatError, never another exception, never a hang)."""

from __future__ import annotations

import io
import tarfile

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from portcullis.errors import TarFormatError
from portcullis.layers.tar import TarReader
from tests.unit.tar_helpers import archive, by_reader, by_tarfile, member, offsets

FORMATS = [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]
KINDS = [tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
         tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE]
# ASCII, some non-ASCII letters and lone surrogates (bytes that are not UTF-8)
CHARS = st.sampled_from("abcXYZ019._- é€ü\udce9\udcff\udc80")
SEGMENT = st.text(CHARS, min_size=1, max_size=40).filter(lambda s: s not in (".", ".."))
NAME = st.lists(SEGMENT, min_size=1, max_size=8).map("/".join)

FAST = settings(max_examples=150, deadline=2000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def members(draw: st.DrawFn) -> tuple[tarfile.TarInfo, bytes]:
    kind = draw(st.sampled_from(KINDS))
    return member(
        draw(NAME),
        kind,
        draw(st.binary(max_size=700)),
        mode=draw(st.integers(0, 0o7777)),
        uid=draw(st.one_of(st.integers(0, 65535), st.integers(0, 2**40))),
        gid=draw(st.integers(0, 2**33)),
        mtime=draw(st.one_of(st.integers(0, 8**11 - 1), st.integers(-(2**40), 2**40),
                             st.floats(0, 2**34, allow_nan=False))),
        linkname=draw(NAME) if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else "",
        devmajor=draw(st.integers(0, 255)),
    )


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    fmt = draw(st.sampled_from(FORMATS))
    entries = draw(st.lists(members(), min_size=1, max_size=6))  # tarfile refuses an empty one
    pax = draw(st.none() | st.just({"comment": "g", "gid": "77"})) if fmt == tarfile.PAX_FORMAT else None
    try:
        return archive(entries, fmt, pax_headers=pax)
    except ValueError:  # a name or number the format cannot hold
        assume(False)
        raise


@settings(FAST, max_examples=60)
@given(archives(), st.sampled_from([1, 7, 512, 1 << 20]))
def test_same_as_tarfile(data: bytes, chunk: int) -> None:
    reader = TarReader(io.BytesIO(data))
    assert by_reader(data, chunk, reader) == by_tarfile(data)
    reader.drain()
    assert reader.warnings == []
    assert reader.total == len(data)
    assert [h.offset for h in TarReader(io.BytesIO(data))] == offsets(data)


def _read_all(data: bytes) -> None:
    """Read every member and its content; only TarFormatError may escape."""
    reader = TarReader(io.BytesIO(data), max_meta=64 << 10)
    try:
        for _ in reader:
            for _chunk in reader.chunks(4096):
                pass
        reader.drain()
    except TarFormatError as e:
        assert 0 <= e.offset <= len(data)
        assert str(e).startswith("tar: ")
        return
    assert reader.ended
    assert reader.total == len(data)


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _read_all(data)


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(archives()))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "zero", "junk"]))
        at = draw(st.integers(0, len(data)))
        if action == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "zero":
            data[at:at] = bytes(512)
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=600))
    return bytes(data)


@FAST
@given(damaged())
def test_damaged_archives(data: bytes) -> None:
    _read_all(data)


def _checksummed(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block)


@st.composite
def headers(draw: st.DrawFn) -> bytes:
    """A block that passes the checksum, with random fields: the parser past the checksum."""
    block = bytearray(draw(st.binary(min_size=512, max_size=512)))
    block[156] = ord(draw(st.sampled_from("0125xgLKS7V\x00")))
    if draw(st.booleans()):
        block[124:136] = b"%011o\x00" % draw(st.integers(0, 3000))
    if draw(st.booleans()):
        block[257:263] = draw(st.sampled_from([b"ustar\x00", b"ustar ", b"\x00" * 6]))
    if draw(st.booleans()):
        block[482] = 0
    return _checksummed(block)


PAX_BODY = st.lists(
    st.sampled_from([b"11 path=ab\n", b"12 size=100\n", b"9 uid=7\n", b"16 mtime=12.345\n",
                     b"30 GNU.sparse.realsize=99999\n", b"4 x\n", b"0 \n", b"\x00"]),
    max_size=5,
).map(b"".join)


@st.composite
def block_soup(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["header", "zero", "data", "pax"]))
        if kind == "header":
            parts.append(draw(headers()))
        elif kind == "zero":
            parts.append(bytes(512))
        elif kind == "pax":
            body = draw(PAX_BODY)
            block = bytearray(512)
            block[0:9] = b"PaxHeader"
            block[124:136] = b"%011o\x00" % len(body)
            block[156] = ord(draw(st.sampled_from("xg")))
            parts.append(_checksummed(block) + body + bytes(-len(body) % 512))
        else:
            parts.append(draw(st.binary(max_size=1100)))
    return b"".join(parts)


@FAST
@given(block_soup())
def test_blocks_that_pass_the_checksum(data: bytes) -> None:
    _read_all(data)
