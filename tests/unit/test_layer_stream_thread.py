"""LayerStream inflates on a second thread: its errors reach the reader as before, in order;
closing early (a tar error in the parser) stops the thread; the thread reads only a few
chunks ahead. Real kit layers, really damaged."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator

import pytest

from portcullis.analyze.layer_cache import HashingReader
from portcullis.errors import DigestMismatchError, LayerError, LimitExceededError, TarFormatError
from portcullis.layers import stream as stream_module
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.layers.tar import TarReader
from portcullis.limits import ScanLimits
from portcullis.model.files import FileMeta
from portcullis.source.verify import VerifyingReader
from tests.images import kit

# 40 files of 128 KiB of random bytes: about 5 MiB of tar, so several chunks in any form.
FILES = [kit.file(f"data/f{i:02d}.bin", os.urandom(128 << 10)) for i in range(40)]
NAMES = [f"data/f{i:02d}.bin" for i in range(40)]


class NoContent:
    def open(self, layer: int, meta: FileMeta) -> None:
        return None

    def link(self, layer: int, meta: FileMeta, index: LayerIndex) -> None:
        return None


def inflaters() -> list[threading.Thread]:
    """The stream's threads: the inflating one and the one reading the blob ahead of it."""
    return [t for t in threading.enumerate() if t.name.startswith(("inflate ", "read "))]


def index(blob: bytes, diff_id: str, limits: ScanLimits | None = None) -> LayerIndex:
    limits = limits or ScanLimits()
    with LayerStream(io.BytesIO(blob), diff_id=diff_id, limit=limits.max_layer_bytes,
                     what="layer 1") as s:
        return index_layer(s, 1, sink=NoContent(), limits=limits,
                           counter=FileCounter(limits.max_files), what="layer 1")


def names_until_error(blob: bytes, diff_id: str) -> tuple[list[str], BaseException]:
    names: list[str] = []
    with LayerStream(io.BytesIO(blob), diff_id=diff_id, limit=1 << 30, what="layer 1") as s:
        try:
            for header in TarReader(s, what="layer 1"):
                names.append(header.name)
            s.finish()
        except LayerError as e:
            return names, e
    raise AssertionError("no error")


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    assert not inflaters()
    yield
    assert not inflaters()


def test_a_layer_reads_whole_and_the_thread_ends() -> None:
    layer = kit.Layer(FILES)
    done = index(layer.blob(), kit.sha(layer.tar_bytes()))
    assert sorted(p for p in done.entries if p.endswith(".bin")) == ["/" + n for n in NAMES]
    assert done.tar_bytes == len(layer.tar_bytes())


def test_corrupt_gzip_in_the_middle_is_the_same_error_after_the_members_before_it() -> None:
    layer = kit.Layer(FILES)
    blob = bytearray(layer.blob())
    middle = len(blob) // 2
    blob[middle : middle + 4096] = bytes(4096)
    names, error = names_until_error(bytes(blob), kit.sha(layer.tar_bytes()))
    assert type(error) is LayerError
    assert str(error).startswith("layer 1: corrupt gzip stream (")
    # the members before the damage were read, in order
    assert 5 < len(names) < len(NAMES)
    assert names == NAMES[: len(names)]


def test_truncated_blob_is_a_corrupt_stream() -> None:
    layer = kit.Layer(FILES)
    blob = layer.blob()
    with pytest.raises(LayerError, match=r"^layer 1: corrupt gzip stream \("):
        index(blob[: len(blob) * 2 // 3], kit.sha(layer.tar_bytes()))


def test_truncated_zstd_blob_is_a_truncated_tar() -> None:
    """zstandard's reader ends quietly where the blob ends: the tar reader names it."""
    layer = kit.Layer(FILES, compression="zstd")
    blob = layer.blob()
    with pytest.raises(TarFormatError, match=r"^layer 1: truncated "):
        index(blob[: len(blob) // 2], kit.sha(layer.tar_bytes()))


def test_layer_bytes_limit() -> None:
    layer = kit.Layer(FILES)
    with pytest.raises(LimitExceededError) as err:
        index(layer.blob(), kit.sha(layer.tar_bytes()), ScanLimits(max_layer_bytes=2 << 20))
    assert err.value.limit == "max_layer_bytes" and err.value.where == "layer 1"


def test_diff_id_mismatch_after_the_whole_layer() -> None:
    layer = kit.Layer(FILES)
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatchError, match="layer 1: diff_id mismatch"):
        index(layer.blob(), wrong)


def test_a_tar_error_closes_the_stream_early_and_stops_the_thread() -> None:
    """The parser fails on the second member while the thread is ahead (blocked handing
    over a chunk): closing returns promptly and leaves no thread."""
    tar = bytearray(kit.Layer(FILES).tar_bytes())
    second = tar.find(b"data/f01.bin")
    header = second - second % 512
    tar[header + 148 : header + 156] = b"0000000\0"  # a wrong checksum
    blob = kit.Layer([], tar_override=bytes(tar)).blob()
    started = time.monotonic()
    with pytest.raises(TarFormatError, match="bad tar header checksum"):
        index(blob, kit.sha(bytes(tar)))
    assert time.monotonic() - started < 5


def test_closing_before_reading_and_reading_after_closing() -> None:
    layer = kit.Layer(FILES)
    s = LayerStream(io.BytesIO(layer.blob()), diff_id=None, limit=1 << 30, what="layer 1")
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.read(10)


def test_the_thread_reads_only_a_few_chunks_ahead() -> None:
    """Memory stays bounded: with the reader idle, the raw stream is read no further than
    the chunks the inflating thread may hold ready, plus the one it holds and the one being
    read, and the raw chunks the read-ahead thread may hold."""
    big = [kit.file(f"f{i}", os.urandom(1 << 20)) for i in range(24)]
    tar = kit.Layer(big).tar_bytes()
    raw = HashingReader(io.BytesIO(tar))  # uncompressed: raw bytes are tar bytes
    chunk = stream_module._CHUNK
    with LayerStream(raw, diff_id=None, limit=1 << 30, what="layer 1") as s:
        assert s.read(512)
        last = -1
        for _ in range(100):  # until the thread stops reading (it blocks on a full queue)
            time.sleep(0.02)
            if raw.bytes_read == last:
                break
            last = raw.bytes_read
        ahead = (stream_module._AHEAD + 2) * stream_module._READ
        assert raw.bytes_read <= (stream_module._AHEAD + 3) * chunk + ahead
        assert raw.bytes_read < len(tar) // 2


def test_a_short_blob_is_named_by_the_source_after_the_bytes_it_had() -> None:
    """The blob is read on the read-ahead thread: what the source raises at its end (here
    the size check of a blob cut short) reaches the tar reader after every byte before it."""
    layer = kit.Layer(FILES)
    blob = layer.blob()
    cut = blob[: len(blob) * 2 // 3]
    raw = VerifyingReader(io.BytesIO(cut), None, what="blob 1", expected_size=len(blob))
    names: list[str] = []
    with LayerStream(raw, diff_id=None, limit=1 << 30, what="layer 1") as s:  # noqa: SIM117
        with pytest.raises(DigestMismatchError, match=r"^blob 1: size mismatch"):
            for header in TarReader(s, what="layer 1"):
                names.append(header.name)
    assert 5 < len(names) < len(NAMES)
    assert names == NAMES[: len(names)]
