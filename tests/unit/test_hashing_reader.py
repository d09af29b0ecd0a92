"""The hash of a layer blob as the engine keys its cache with: taken from the source's own
digest check when there is one (never before that check passed), else computed."""

from __future__ import annotations

import hashlib
import io

import pytest

from portcullis.analyze.layer_cache import HashingReader
from portcullis.errors import DigestMismatchError, LayerError
from portcullis.model.digest import Digest
from portcullis.source.verify import VerifyingReader

BLOB = b"layer bytes " * 100_000


def drain(reader: HashingReader) -> None:
    while reader.read(1 << 16):
        pass


def test_the_checked_hash_is_the_blob_hash() -> None:
    digest = Digest.parse("sha256:" + hashlib.sha256(BLOB).hexdigest())
    reader = HashingReader(VerifyingReader(io.BytesIO(BLOB), digest, what="blob"))
    drain(reader)
    assert reader.hexdigest() == hashlib.sha256(BLOB).hexdigest()


def test_unchecked_sources_are_hashed_here() -> None:
    reader = HashingReader(VerifyingReader(io.BytesIO(BLOB), None, what="blob"))
    drain(reader)
    assert reader.hexdigest() == hashlib.sha256(BLOB).hexdigest()


def test_other_bytes_never_get_the_claimed_hash() -> None:
    claimed = Digest.parse("sha256:" + hashlib.sha256(b"other").hexdigest())
    reader = HashingReader(VerifyingReader(io.BytesIO(BLOB), claimed, what="blob"))
    with pytest.raises(DigestMismatchError):
        drain(reader)
    with pytest.raises(LayerError):
        reader.hexdigest()


def test_no_hash_before_the_end() -> None:
    digest = Digest.parse("sha256:" + hashlib.sha256(BLOB).hexdigest())
    reader = HashingReader(VerifyingReader(io.BytesIO(BLOB), digest, what="blob"))
    reader.read(10)
    with pytest.raises(LayerError):
        reader.hexdigest()
