"""OSV range evaluation against a direct model of the schema's algorithm.

Versions are ``1.<n>.0`` for n in 0..12 so the model can order them as integers; events are
generated in any order (the evaluator must sort them by the scheme), with ``introduced: "0"``,
``limit: "*"`` and an explicit ``versions`` list in the mix.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.vulndb.ranges import evaluate, evaluate_entry
from portcullis.vulndb.versions import scheme_for

N = 12
SEMVER = scheme_for("npm")


def _v(n: int) -> str:
    return f"1.{n}.0"


ZERO = -1  # introduced "0"
STAR = N + 1  # limit "*"

event = st.one_of(
    st.tuples(st.just("introduced"), st.integers(ZERO, N)),
    st.tuples(st.just("fixed"), st.integers(0, N)),
    st.tuples(st.just("last_affected"), st.integers(0, N)),
    st.tuples(st.just("limit"), st.integers(0, STAR)),
)


def _json(events: list[tuple[str, int]]) -> list[dict[str, str]]:
    def text(kind: str, n: int) -> str:
        if n == ZERO:
            return "0"
        if n == STAR:
            return "*"
        return _v(n)
    return [{kind: text(kind, n)} for kind, n in events]


def _model(v: int, ranges: list[list[tuple[str, int]]], listed: list[int]) -> tuple[bool, set[int]]:
    """The schema's pseudocode over integers; also the fixed event closing each hit."""
    affected = v in listed
    fixes: set[int] = set()
    for events in ranges:
        limits = [n for kind, n in events if kind == "limit"]
        if limits and not any(v < n for n in limits):
            continue
        order = {"introduced": 0, "last_affected": 1, "fixed": 2}
        timeline = sorted((n, order[k], k) for k, n in events if k != "limit")
        vulnerable = False
        for n, _, kind in timeline:
            if (kind == "introduced" and v >= n) or (kind == "fixed" and v >= n):
                vulnerable = kind == "introduced"
            elif kind == "last_affected" and v > n:
                vulnerable = False
        if vulnerable:
            affected = True
            closing = [(n, k) for n, _, k in timeline if n >= v and k != "introduced"]
            if closing and closing[0][1] == "fixed":
                fixes.add(closing[0][0])
    return affected, fixes


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(event, min_size=1, max_size=6), max_size=3),
       st.lists(st.integers(0, N), max_size=3), st.integers(0, N), st.randoms())
def test_evaluation_matches_the_schema_algorithm(
        ranges: list[list[tuple[str, int]]], listed: list[int], v: int, rnd: Any) -> None:
    shuffled = [rnd.sample(events, len(events)) for events in ranges]
    osv_ranges = [{"type": "SEMVER", "events": _json(events)} for events in shuffled]
    verdict = evaluate(_v(v), osv_ranges, [_v(n) for n in listed], SEMVER)
    affected, fixes = _model(v, ranges, listed)
    assert verdict.affected == affected
    assert verdict.fixed == tuple(_v(n) for n in sorted(fixes))
    assert verdict.problems == ()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, N - 1), st.integers(1, N), st.integers(0, N))
def test_introduced_is_affected_fixed_is_not(lo: int, width: int, v: int) -> None:
    hi = min(lo + width, N)
    rng = [{"type": "ECOSYSTEM", "events": [{"fixed": _v(hi)}, {"introduced": _v(lo)}]}]
    verdict = evaluate(_v(v), rng, [], SEMVER)
    assert verdict.affected == (lo <= v < hi)
    assert verdict.fixed == ((_v(hi),) if lo <= v < hi else ())


@settings(max_examples=200, deadline=None)
@given(st.integers(0, N), st.integers(0, N))
def test_last_affected_is_affected_and_nothing_above(last: int, v: int) -> None:
    rng = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": _v(last)}]}]
    verdict = evaluate(_v(v), rng, [], SEMVER)
    assert verdict.affected == (v <= last)
    assert verdict.fixed == ()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, N), st.integers(0, N))
def test_limit_excludes_from_its_version_on(limit: int, v: int) -> None:
    rng = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"limit": _v(limit)}]}]
    assert evaluate(_v(v), rng, [], SEMVER).affected == (v < limit)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, N), min_size=1, max_size=5), st.integers(0, N))
def test_versions_list_hits_exactly(listed: list[int], v: int) -> None:
    verdict = evaluate(_v(v), [], [_v(n) for n in listed], SEMVER)
    assert verdict.affected == (v in listed)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(
        ["0", "*", "1.0.0", "2.0.0", "v1", "ECOSYSTEM", "SEMVER", "GIT", "introduced", "fixed",
         "last_affected", "limit", "", "x"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "events", "introduced", "fixed", "last_affected", "limit",
                         "versions", "ranges", "package", "ecosystem"]), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(json_value, st.sampled_from(["npm", "PyPI", "Maven", "Debian", "Go", "Nope"]),
       st.sampled_from(["1.0.0", "garbage", ""]))
def test_any_json_gives_a_verdict_never_an_exception(entry: Any, ecosystem: str,
                                                     version: str) -> None:
    if isinstance(entry, dict):
        entry = {**entry, "package": {"ecosystem": ecosystem, "name": "p"}}
    verdict = evaluate_entry(version, entry)
    assert isinstance(verdict.affected, bool)
    assert all(isinstance(p, str) and p for p in verdict.problems)
