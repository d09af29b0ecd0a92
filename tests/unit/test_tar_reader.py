"""TarReader against tarfile on the same bytes, and on malformed archives."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import time
import tracemalloc
from pathlib import Path

import pytest

from portcullis.errors import LayerError, TarFormatError
from portcullis.layers.tar import TarReader
from tests.unit.tar_helpers import (
    END,
    archive,
    by_reader,
    by_tarfile,
    header_block,
    member,
    offsets,
    pad,
)

FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}
BIG = bytes(range(256)) * 12_289  # 3 MiB + a bit: bigger than the reader's buffer


def common_members() -> list[tuple[tarfile.TarInfo, bytes]]:
    """What every format can hold."""
    return [
        member("etc", tarfile.DIRTYPE, mode=0o755),
        member("etc/hostname", data=b"box\n", uid=1000, gid=1000),
        member("etc/empty"),
        member("etc/big.bin", data=BIG, mode=0o600),
        member("etc/odd", data=b"x" * 513),
        member("etc/link", tarfile.SYMTYPE, linkname="hostname"),
        member("etc/hard", tarfile.LNKTYPE, linkname="etc/hostname"),
        member("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        member("dev/sda", tarfile.BLKTYPE, mode=0o660, devmajor=8),
        member("run/fifo", tarfile.FIFOTYPE),
        member("usr/" + "d" * 90 + "/" + "f" * 90, data=b"prefix field"),  # ustar prefix
        member("caf\udce9/na\udcefve", data=b"latin-1 name"),  # not UTF-8
        member("caf\u00e9/\u00fcber", data=b"utf-8 name"),
    ]


def extended_members() -> list[tuple[tarfile.TarInfo, bytes]]:
    """What needs GNU or pax extensions."""
    return [
        member("long/" + "n" * 300, data=b"long name"),
        member("long/dir-" + "d" * 150, tarfile.DIRTYPE),
        member("long/link", tarfile.SYMTYPE, linkname="t" * 200),
        member("long/hard", tarfile.LNKTYPE, linkname="long/" + "n" * 300),
        member("big/ids", data=b"ids", uid=3_000_000, gid=70_000_000),
        member("big/mtime", data=b"t", mtime=8**11 + 5),  # after 2242: no room in 11 digits
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_members_as_tarfile(fmt: str) -> None:
    members = common_members()
    if fmt != "ustar":
        members += extended_members()
    data = archive(members, FORMATS[fmt])
    expected = by_tarfile(data)
    assert len(expected) == len(members)
    assert by_reader(data) == expected


@pytest.mark.parametrize("chunk", [100, 512, 4096, 1 << 20])
def test_chunks_give_exact_content(chunk: int) -> None:
    data = archive(common_members())
    reader = TarReader(io.BytesIO(data))
    for header in reader:
        if header.name == "etc/big.bin":
            parts = list(reader.chunks(chunk))
            assert all(len(p) <= chunk for p in parts)
            assert b"".join(parts) == BIG
        if header.name == "etc/odd":
            assert b"".join(reader.chunks(chunk)) == b"x" * 513


def test_unread_and_half_read_content_is_skipped() -> None:
    data = archive(common_members())
    reader = TarReader(io.BytesIO(data))
    names = []
    for header in reader:
        names.append(header.name)
        if header.name == "etc/big.bin":
            assert next(reader.chunks(1000)) == BIG[:1000]
    assert names == [e.name for e in by_tarfile(data)]
    reader.drain()
    assert reader.total == len(data)
    assert reader.warnings == []


def test_stream_with_read_only() -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._io = io.BytesIO(data)

        def read(self, size: int = -1, /) -> bytes:
            return self._io.read(min(size, 777))  # short reads, too

    data = archive(common_members() + extended_members())
    assert by_reader(data, reader=TarReader(ReadOnly(data))) == by_tarfile(data)


def test_offsets_are_those_of_the_first_header() -> None:
    data = archive(common_members() + extended_members())
    assert [h.offset for h in TarReader(io.BytesIO(data))] == offsets(data)


def test_pax_records() -> None:
    fractional = member("frac", data=b"f", mtime=1_700_000_000.75)
    negative = member("before-1970", data=b"n", mtime=-1_000.5)
    data = archive([fractional, negative, *extended_members()], tarfile.PAX_FORMAT,
                   pax_headers={"uid": "4242", "comment": "global"})
    expected = by_tarfile(data)
    got = by_reader(data)
    assert got == expected
    assert got[0].mtime == 1_700_000_000 and got[1].mtime == -1000
    # the global header applies to every member, a per-file record overrides it
    assert {e.name: e.uid for e in got if e.uid != 4242} == {"big/ids": 3_000_000}


def test_gnu_negative_mtime_is_base256() -> None:
    data = archive([member("old", data=b"o", mtime=-86_400)], tarfile.GNU_FORMAT)
    assert data[136] == 0xFF
    assert by_reader(data) == by_tarfile(data)
    assert by_reader(data)[0].mtime == -86_400


def test_non_utf8_name_survives() -> None:
    data = archive([member("caf\udce9", data=b"x")], tarfile.GNU_FORMAT)
    assert b"caf\xe9\x00" in data
    (entry,) = by_reader(data)
    assert entry.name.encode("utf-8", "surrogateescape") == b"caf\xe9"


def test_v7_header_and_trailing_slash_directory() -> None:
    data = (header_block(b"old/", b"\x00", magic=b"")
            + header_block(b"old/file", b"\x00", 3, magic=b"") + pad(b"abc") + END)
    got = by_reader(data)
    assert got == by_tarfile(data)
    assert [(e.name, e.type, e.content) for e in got] == [("old", "5", b""),
                                                          ("old/file", "0", b"abc")]


def test_prefix_only_for_posix_ustar_magic() -> None:
    # In GNU headers the prefix bytes hold atime/ctime; they are not part of the name.
    gnu = header_block(b"name", magic=b"ustar  \x00", prefix=b"14532133400\x00")
    ustar = header_block(b"name", prefix=b"some/dir")
    assert [h.name for h in TarReader(io.BytesIO(gnu + ustar + END))] == ["name",
                                                                          "some/dir/name"]


def test_historic_signed_checksum_is_accepted() -> None:
    data = header_block(b"\xe9t\xe9", size=2, signed=True) + pad(b"ok") + END
    assert by_reader(data) == by_tarfile(data)


def test_gnu_sparse_header_with_extension_block() -> None:
    # a sparse file of 10,000 bytes with 1,024 bytes stored; the map goes on in one more block
    extra = {386: b"00000000000\x0000000001000\x00", 482: b"\x01", 483: b"00000023420\x00"}
    header = header_block(b"holes", b"S", 1024, magic=b"ustar  \x00", extra=extra)
    extension = bytearray(512)
    extension[0:24] = b"00000021400\x0000000000030\x00"
    data = header + bytes(extension) + b"d" * 1024 + header_block(b"after", size=1) + pad(b"z") + END
    reader = TarReader(io.BytesIO(data))
    headers = []
    for h in reader:
        headers.append((h.name, h.type, h.size, h.sparse, b"".join(reader.chunks())))
    assert headers == [("holes", "0", 10_000, True, b"d" * 1024), ("after", "0", 1, False, b"z")]
    expected = by_tarfile(data)
    assert [(e.name, e.size) for e in expected] == [("holes", 10_000), ("after", 1)]


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_files_from_gnu_tar(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with (src / "sparse").open("wb") as f:
        f.truncate(4 << 20)
        f.seek(2 << 20)
        f.write(b"data in the middle")
    (src / "plain").write_bytes(b"plain")
    out = tmp_path / "a.tar"
    subprocess.run(["tar", "--sparse", f"--format={fmt}", "-cf", str(out), "-C", str(src),
                    "sparse", "plain"], check=True)
    data = out.read_bytes()
    with tarfile.open(out) as tar:
        if not tar.getmember("sparse").issparse():
            pytest.skip("this file system does not report holes; no sparse entry written")
    reader = TarReader(io.BytesIO(data))
    got = [(h.name, h.type, h.size, h.sparse) for h in reader]
    assert got == [("sparse", "0", 4 << 20, True), ("plain", "0", 5, False)]


def test_archives_written_by_gnu_tar(tmp_path: Path) -> None:
    """A real GNU tar archive (long names, hard links, a directory tree) reads the same."""
    root = tmp_path / "root"
    deep = root / ("x" * 120) / ("y" * 120)
    deep.mkdir(parents=True)
    (deep / ("z" * 200)).write_bytes(os.urandom(70_000))
    (root / "a").write_bytes(b"a")
    os.link(root / "a", root / "hard")
    (root / "sym").symlink_to("l" * 150)
    for fmt in ("gnu", "posix", "ustar", "v7"):
        out = tmp_path / f"{fmt}.tar"
        subprocess.run(["tar", f"--format={fmt}", "-cf", str(out), "-C", str(root), "."],
                       check=fmt in ("gnu", "posix"), capture_output=True)
        if out.exists() and out.stat().st_size:
            data = out.read_bytes()
            assert by_reader(data) == by_tarfile(data), fmt


# ---------------------------------------------------------------------------- malformed


def _three_files() -> bytes:
    return archive([member("a", data=b"A" * 700), member("b", data=b"B"), member("c", data=b"C")],
                   tarfile.USTAR_FORMAT)


def test_bad_checksum_in_the_middle() -> None:
    data = bytearray(_three_files())
    second = offsets(bytes(data))[1]
    data[second + 150] ^= 0x01
    reader = TarReader(io.BytesIO(bytes(data)), what="layer 3")
    names = []
    with pytest.raises(TarFormatError) as err:
        names.extend(h.name for h in reader)
    assert names == ["a"]
    assert err.value.offset == second
    assert str(err.value) == f"layer 3: bad tar header checksum at offset {second}"
    assert isinstance(err.value, LayerError)


def test_lone_zero_block_in_the_middle_is_skipped_with_a_warning() -> None:
    data = _three_files()
    second = offsets(data)[1]
    spliced = data[:second] + b"\x00" * 512 + data[second:]
    seen: list[tuple[str, int]] = []
    reader = TarReader(io.BytesIO(spliced), on_warning=lambda m, o: seen.append((m, o)))
    assert [(e.name, e.content) for e in by_reader(spliced, reader=reader)] == [
        ("a", b"A" * 700), ("b", b"B"), ("c", b"C")]
    assert seen == [(f"zero block in the middle of the archive at offset {second}; reading on",
                     second)]
    # tarfile stops there: the bug this reader fixes
    assert [e.name for e in by_tarfile(spliced)] == ["a"]


def test_two_zero_blocks_end_the_archive_and_what_follows_is_reported() -> None:
    data = _three_files()
    second = offsets(data)[1]
    spliced = data[:second] + END + data[second:]
    reader = TarReader(io.BytesIO(spliced))
    assert [h.name for h in reader] == ["a"]
    assert reader.warnings == [(f"data after the end of the archive at offset {second + 1024}; "
                                "ignored", second + 1024)]


def test_zero_block_then_garbage_ends_the_archive() -> None:
    data = archive([member("a", data=b"A")], tarfile.USTAR_FORMAT)
    end = offsets(data)[0] + 1024
    spliced = data[:end] + b"\x00" * 512 + b"junk" * 128
    reader = TarReader(io.BytesIO(spliced))
    assert [h.name for h in reader] == ["a"]
    assert reader.warnings == [(f"data after the end of the archive at offset {end + 512}; "
                                "ignored", end + 512)]


def test_data_after_the_end_beyond_the_buffer_is_found_by_drain() -> None:
    data = _three_files() + b"\x00" * (3 << 20) + b"tail"
    reader = TarReader(io.BytesIO(data))
    assert len(list(reader)) == 3
    assert reader.warnings == []
    reader.drain()
    assert reader.total == len(data)
    assert reader.warnings == [(f"data after the end of the archive at offset {len(data) - 4}; "
                                "ignored", len(data) - 4)]


def test_drain_before_the_end_only_reads() -> None:
    data = _three_files()
    reader = TarReader(io.BytesIO(data))
    assert next(iter(reader)).name == "a"
    reader.drain()
    assert reader.total == len(data)
    assert reader.warnings == []


def test_missing_end_blocks_and_single_end_block_are_accepted() -> None:
    data = _three_files()
    last = offsets(data)[2]
    for cut in (last + 1024, last + 1536):
        reader = TarReader(io.BytesIO(data[:cut]))
        assert [h.name for h in reader] == ["a", "b", "c"]
        assert reader.ended and reader.warnings == []


def test_empty_stream_and_empty_archive_have_no_members() -> None:
    assert list(TarReader(io.BytesIO(b""))) == []
    reader = TarReader(io.BytesIO(bytes(10240)))
    assert list(reader) == []
    reader.drain()
    assert reader.ended and reader.warnings == [] and reader.total == 10240


@pytest.mark.parametrize(
    ("cut", "message", "offset"),
    [
        (512 + 300, "truncated member", 0),  # inside a's content
        (512 + 1000, "truncated member", 0),  # inside a's padding
        (1536 + 100, "truncated header", 1536),  # inside b's header
    ],
)
def test_truncation(cut: int, message: str, offset: int) -> None:
    data = _three_files()
    assert offsets(data)[1] == 1536
    with pytest.raises(TarFormatError, match=message) as err:
        by_reader(data[:cut])
    assert err.value.offset == offset


def test_truncated_content_read_through_chunks() -> None:
    data = _three_files()[: 512 + 300]
    reader = TarReader(io.BytesIO(data))
    next(iter(reader))
    with pytest.raises(TarFormatError, match=r"truncated member .*at offset 0"):
        b"".join(reader.chunks())


def _record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    length = len(body) + 1
    while len(str(length)) + len(body) != length:  # the length counts its own digits
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def _pax(records: bytes, *, size: int | None = None) -> bytes:
    return header_block(b"PaxHeader/x", b"x", len(records) if size is None else size) + pad(records)


def test_huge_pax_size_record_is_a_truncated_member() -> None:
    data = _pax(_record("size", "1" + "0" * 20)) + header_block(b"x", size=1) + pad(b"x") + END
    start = time.perf_counter()
    with pytest.raises(TarFormatError, match=r"truncated member .*at offset 0"):
        by_reader(data)
    assert time.perf_counter() - start < 1


def test_pax_header_claiming_a_gigabyte_fails_without_reading_it() -> None:
    data = header_block(b"PaxHeader/x", b"x", 1 << 30) + b"1" * 4096
    tracemalloc.start()
    try:
        with pytest.raises(TarFormatError, match="over the limit of 1048576 at offset 0"):
            list(TarReader(io.BytesIO(data)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_long_name_over_max_meta() -> None:
    name = b"n" * 5000
    data = header_block(b"././@LongLink", b"L", len(name) + 1) + pad(name + b"\x00")
    with pytest.raises(TarFormatError, match="over the limit of 4096"):
        list(TarReader(io.BytesIO(data + header_block(b"x") + END), max_meta=4096))


@pytest.mark.parametrize(
    "records",
    [
        b"abc path=x\n",  # length not a number
        b"99 path=x\n",  # length past the end
        b"5 path=x\n",  # length too short
        b"11 path=xy\t",  # no newline at the end
        b"9 pathxy\n",  # no '='
        b"11 size=-5\n",  # negative size
        b"13 uid=1.5e3\n",  # uid not an integer
        b"14 mtime=later\n",  # mtime not a number
    ],
)
def test_pax_records_that_do_not_parse(records: bytes) -> None:
    data = _pax(records) + header_block(b"x") + END
    with pytest.raises(TarFormatError, match=r"at offset 0$"):
        list(TarReader(io.BytesIO(data)))


def test_name_over_max_name_is_skipped_with_a_warning() -> None:
    data = archive([member("a" * 60, data=b"skipped"), member("b", data=b"kept"),
                    member("l", tarfile.SYMTYPE, linkname="t" * 60)], tarfile.PAX_FORMAT)
    reader = TarReader(io.BytesIO(data), max_name=50)
    assert [(e.name, e.content) for e in by_reader(data, reader=reader)] == [("b", b"kept")]
    first, _, third = offsets(data)
    assert reader.warnings == [
        (f"tar entry name or link target longer than 50 characters at offset {o}; entry skipped",
         o)
        for o in (first, third)
    ]


def test_bad_numeric_field() -> None:
    data = header_block(b"x", mode=b"07x5\x00\x00\x00\x00") + END
    with pytest.raises(TarFormatError, match=r"invalid tar header .* at offset 0"):
        list(TarReader(io.BytesIO(data)))


def test_extended_header_without_member() -> None:
    data = _pax(b"11 path=xy\n")
    with pytest.raises(TarFormatError, match="truncated member after an extended header"):
        list(TarReader(io.BytesIO(data)))
    with pytest.raises(TarFormatError, match="followed by a zero block"):
        list(TarReader(io.BytesIO(data + END)))


def test_not_a_tar() -> None:
    with pytest.raises(TarFormatError, match="bad tar header checksum at offset 0"):
        list(TarReader(io.BytesIO(b"PK\x03\x04" + b"\x01" * 2000)))
