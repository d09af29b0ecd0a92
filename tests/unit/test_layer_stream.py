"""LayerStream: the bytes, the errors, and TarReader reading through it."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Callable

import pytest
import zstandard

from portcullis.errors import DigestMismatchError, LayerError, LimitExceededError
from portcullis.layers.stream import LayerStream
from portcullis.layers.tar import TarReader
from portcullis.model.digest import Digest
from portcullis.source.verify import VerifyingReader

TAR = os.urandom(3 << 20) + bytes(5 << 20)  # some incompressible, some very compressible
DIFF_ID = "sha256:" + hashlib.sha256(TAR).hexdigest()
BLOBS = {
    "gzip": gzip.compress(TAR, compresslevel=1),
    "zstd": zstandard.ZstdCompressor(level=1).compress(TAR),
    "none": TAR,
}


def stream(blob: bytes, *, diff_id: str | None = DIFF_ID, limit: int = 1 << 30) -> LayerStream:
    return LayerStream(io.BytesIO(blob), diff_id=diff_id, limit=limit, what="layer 1")


def read_all(s: LayerStream, read: Callable[[LayerStream], bytes]) -> bytes:
    parts = []
    while chunk := read(s):
        parts.append(chunk)
    return b"".join(parts)


def by_readinto(size: int) -> Callable[[LayerStream], bytes]:
    def read(s: LayerStream) -> bytes:
        buffer = bytearray(size)
        n = s.readinto(memoryview(buffer))
        return bytes(buffer[:n])

    return read


@pytest.mark.parametrize("compression", BLOBS)
@pytest.mark.parametrize(
    "read",
    [lambda s: s.read(), lambda s: s.read(1000), lambda s: s.read(3 << 20), by_readinto(700_000)],
    ids=["read()", "read(1000)", "read(3M)", "readinto"],
)
def test_same_bytes_and_total(compression: str, read: Callable[[LayerStream], bytes]) -> None:
    with stream(BLOBS[compression]) as s:
        assert s.compression == compression
        assert read_all(s, read) == TAR
        s.finish()
        assert s.total == len(TAR)


def test_diff_id_mismatch() -> None:
    wrong = "sha256:" + "0" * 64
    with stream(BLOBS["gzip"], diff_id=wrong) as s:
        s.read(100)
        with pytest.raises(DigestMismatchError) as err:
            s.finish()
    assert str(err.value) == (f"layer 1: diff_id mismatch: config says {wrong}, "
                              f"layer content is {DIFF_ID}")


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_corrupt_gzip(damage: str) -> None:
    blob = BLOBS["gzip"]
    blob = blob[: len(blob) // 2] if damage == "truncated" else blob[:5000] + bytes(5000) + blob[10000:]
    with stream(blob) as s, pytest.raises(LayerError) as err:
        read_all(s, lambda s: s.read())
    assert str(err.value).startswith("layer 1: corrupt gzip stream (")


def test_bomb_limit() -> None:
    with stream(BLOBS["zstd"], limit=4 << 20) as s:
        got = 0
        with pytest.raises(LimitExceededError) as err:
            while chunk := s.read():
                got += len(chunk)
        assert got <= 4 << 20
    assert err.value.limit == "max_layer_bytes" and err.value.where == "layer 1"


def test_blob_digest_checked_when_the_raw_stream_ends() -> None:
    """Bytes after the gzip stream still count for the blob digest (trailing garbage)."""
    blob = BLOBS["gzip"] + b"\x00" * 100
    raw = VerifyingReader(io.BytesIO(blob), Digest.parse("sha256:" + "1" * 64), what="blob 1")
    s = LayerStream(raw, diff_id=DIFF_ID, limit=1 << 30, what="layer 1")
    with s, pytest.raises(DigestMismatchError, match="blob 1"):
        read_all(s, lambda s: s.read())
        s.finish()
    assert raw.bytes_read == len(blob)


def test_tar_reader_over_the_stream() -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for i in range(300):
            info = tarfile.TarInfo(f"dir/file{i}")
            data = os.urandom(i * 37)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = out.getvalue()
    blob = gzip.compress(data)
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    with LayerStream(io.BytesIO(blob), diff_id=diff_id, limit=1 << 30, what="layer 1") as s:
        reader = TarReader(s)
        sizes = [(h.name, len(b"".join(reader.chunks()))) for h in reader]
        reader.drain()
        s.finish()
        assert s.total == len(data)
    assert sizes == [(f"dir/file{i}", i * 37) for i in range(300)]
