"""Fuzzing the package-database parsers (issue 8): random bytes, mutated seeds and JSON of any
shape end in a result or a declared parse error, never another exception and never a hang;
at the analyzer level, a bad file is a warning with its path. bench/fuzz_parsers.py runs the
same targets with 100,000 inputs."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portcullis.analyze.lang.npm import NpmPackages
from portcullis.analyze.lang.python import PythonPackages
from tests.images import kit
from tests.property.parser_targets import DEP5, TARGETS, Target, check, egg, mutate
from tests.unit.layer_helpers import analysis_context, view_of

_OPS = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 4),
                          st.binary(max_size=12)), max_size=6)
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "version", "packages", "dependencies", "default",
                         "libraries", "targets", "license", "node_modules/a", "type",
                         "packages-dev", "resolved", "develop"]) | st.text(max_size=8),
        inner, max_size=4),
    max_leaves=20)


def inputs(target: Target) -> st.SearchStrategy[bytes]:
    strategies = [st.binary(max_size=512)]
    if target.seeds:
        strategies.append(st.builds(mutate, st.sampled_from(target.seeds), _OPS))
    if target.json:
        strategies.append(_JSON.map(lambda doc: json.dumps(doc).encode()))
    return st.one_of(strategies)


def _egg_with_flags(flags: int) -> bytes:
    data = bytearray(egg())
    at = data.find(b"PK\x01\x02")  # the central directory entry of EGG-INFO/PKG-INFO
    data[at + 8:at + 10] = flags.to_bytes(2, "little")
    return bytes(data)


# Found by the fuzzer (kept as explicit examples): each crashed or hung before its fix.
CRASHERS = [
    # a regex that backtracked cubically on spaces: 2.5 KB took minutes
    ("dpkg-copyright", DEP5.split(b"\n\n")[0] + b"\n\nFiles: *\nLicense: GPL-2+ or "
     b"(MIT and BSD-3-c" + b" " * 2500 + b"lause)\n"),
    # shlex builds tokens by appending a character at a time: 365 KB took over 5 s
    ("os-release", b'NAME="De' + b"\xa0" * 365_000),
    # two \s* around an optional group: 80,000 spaces took 30 s
    ("python-requirements", b"requests" + b" " * 200_000 + b"2.31.0\n"),
    # zipfile's NotImplementedError ("compressed patched data (flag bit 5)")
    ("python-egg", _egg_with_flags(0x20)),
    ("npm-package-json", b"[" * 100_000),
    ("python-pipfile-lock", b'{"default": ' + b'{"a": ' * 50_000),
    ("cargo-lock", b"a = " + b"[" * 50_000),
    ("apk-installed", b"P:a\nV:1\nL:" + b"(" * 100_000 + b"\n"),
]


@pytest.mark.parametrize(("name", "data"), CRASHERS, ids=[c[0] for c in CRASHERS])
def test_found_crashers_are_handled(name: str, data: bytes) -> None:
    [target] = [t for t in TARGETS if t.name == name]
    started = time.perf_counter()
    assert check(target, data) is None
    assert time.perf_counter() - started < 10  # each is well under a second now


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_parser_ends_in_a_result_or_a_declared_error(target: Target) -> None:
    @settings(max_examples=40, deadline=5000, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(inputs(target))
    def run(data: bytes) -> None:
        error = check(target, data)
        assert error is None, f"{target.name}: {type(error).__name__}: {error}"

    run()


_ANALYZED = [
    (NpmPackages, "app/node_modules/x/package.json"),
    (NpmPackages, "app/package-lock.json"),
    (NpmPackages, "app/yarn.lock"),
    (PythonPackages, "srv/Pipfile.lock"),
    (PythonPackages, "usr/lib/python3/site-packages/x-1.dist-info/METADATA"),
]


@settings(max_examples=30, deadline=5000, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_ANALYZED), st.binary(max_size=256) | _JSON.map(
    lambda doc: json.dumps(doc).encode()))
def test_analyzer_turns_any_file_into_packages_or_located_warnings(
        where: tuple[type[NpmPackages] | type[PythonPackages], str], data: bytes) -> None:
    analyzer, path = where
    view = view_of([kit.Layer([kit.file(path, data)])])
    result = analyzer().analyze(view, analysis_context())
    assert all(w.path == f"/{path}" and w.layer == 0 for w in result.warnings)
