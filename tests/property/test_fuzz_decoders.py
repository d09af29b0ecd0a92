"""Fuzzing the manifest, index, descriptor and config decoders: any input ends in a record or
a PortcullisError, never another exception (see tests/property/decoders.py).

A few hundred inputs per strategy here; ``python bench/fuzz_decoders.py`` runs 100,000.
Inputs that once crashed a decoder are kept in tests/property/fuzz_corpus/ and replayed below.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portcullis.model.image import ImageConfig
from portcullis.model.json_doc import nesting_deeper_than
from portcullis.source.manifest import Index, Manifest, parse_document
from tests.property.decoders import (
    CORPUS,
    DECODERS,
    KEYS,
    crash_of,
    paths_of,
    replace_at,
    seeds,
)

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.sampled_from(["sha256:" + "a" * 64, "[[[", "{"]))
json_values = st.recursive(
    scalars,
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner,
                                     max_size=5)),
    max_leaves=40,
)
decoder_names = st.sampled_from(sorted(DECODERS))
SEEDS = seeds()


def no_crash(decoder: str, data: bytes) -> None:
    crash = crash_of(decoder, data)
    assert crash is None, f"{decoder} crashed on {data[:200]!r}:\n{crash}"


@FUZZ
@given(decoder=decoder_names, value=json_values)
def test_any_json_value(decoder: str, value: Any) -> None:
    no_crash(decoder, json.dumps(value).encode())


@FUZZ
@given(decoder=decoder_names, data=st.binary(max_size=400))
def test_any_bytes(decoder: str, data: bytes) -> None:
    no_crash(decoder, data)


@FUZZ
@given(decoder=decoder_names, data=st.data())
def test_real_documents_with_one_part_swapped(decoder: str, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(SEEDS[decoder]))
    paths = paths_of(doc)
    path = data.draw(st.sampled_from(paths))
    no_crash(decoder, json.dumps(replace_at(doc, path, data.draw(json_values))).encode())


@FUZZ
@given(decoder=decoder_names, depth=st.integers(0, 100_000), wrap=st.sampled_from(["[]", "{}"]))
def test_any_depth_is_fast(decoder: str, depth: int, wrap: str) -> None:
    opener = "[" if wrap == "[]" else '{"a":'
    text = opener * depth + json.dumps(SEEDS[decoder][0]) + wrap[1] * depth
    start = time.monotonic()
    no_crash(decoder, text.encode())
    assert time.monotonic() - start < 2.0


def test_seeds_decode() -> None:
    """The mutations start from documents the decoders accept, nulls and all."""
    for decoder, docs in SEEDS.items():
        for doc in docs:
            DECODERS[decoder](json.dumps(doc).encode())
    nullish = ImageConfig.from_json(SEEDS["config"][1])
    assert nullish.env == () and nullish.labels == {} and nullish.cmd == ("sh",)
    kinds = [type(parse_document(json.dumps(d).encode(), "x")) for d in SEEDS["document"]]
    assert kinds == [Manifest, Index, Index]


CORPUS_FILES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.name for p in CORPUS_FILES])
def test_corpus_replays(path: Path) -> None:
    decoder = path.name.split("-", 1)[0]
    assert decoder in DECODERS, f"{path.name}: name must start with a decoder: {sorted(DECODERS)}"
    no_crash(decoder, path.read_bytes())


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 8


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


brackety_text = st.text(alphabet='[]{}"\\ab', max_size=10)
brackety_values = st.recursive(
    st.none() | st.integers() | brackety_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(brackety_text, inner, max_size=3),
    max_leaves=60,
)


@FUZZ
@given(value=brackety_values, limit=st.integers(0, 8))
def test_depth_scan_counts_only_real_nesting(value: Any, limit: int) -> None:
    """The byte-level scan agrees with the decoded value's depth, strings full of brackets
    and escapes notwithstanding."""
    data = json.dumps(value).encode()
    assert nesting_deeper_than(data, limit) == (_depth(value) > limit)
