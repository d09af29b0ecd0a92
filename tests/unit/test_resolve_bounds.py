"""Symlink resolution is linear in the parts it walks and bounded per call.

The reference below is the former resolver (it restarted from the root after every link and
took parts off the front of a list: quadratic on a long target). The current one must give
the same answer, or raise where the reference raises, on any small tree of links.
"""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.layers.index import LayerIndex
from portcullis.layers.view import MAX_RESOLVE_PARTS, PATH_MAX, SquashedView, SymlinkLoopError
from portcullis.model.files import FileKind, FileMeta, normalize
from tests.unit.call_count import count_calls


def reference_resolve(view: SquashedView, path: str, follow_final: bool, depth: int) -> str:
    parts = [p for p in normalize(path).split("/") if p]
    resolved = "/"
    budget = depth
    while parts:
        part = parts.pop(0)
        candidate = posixpath.join(resolved, part)
        entry = view.entry(candidate)
        is_last = not parts
        if entry and entry.meta.kind is FileKind.SYMLINK and (follow_final or not is_last):
            budget -= 1
            if budget < 0:
                raise SymlinkLoopError(path)
            target = entry.meta.linkname or ""
            base = "/" if target.startswith("/") else resolved
            new = normalize(posixpath.join(base, target))
            parts = [p for p in new.split("/") if p] + parts
            resolved = "/"
            continue
        resolved = candidate
    return resolved


def view_of(files: list[str], links: dict[str, str], depth: int = 40) -> SquashedView:
    entries = {p: FileMeta(path=p, kind=FileKind.FILE) for p in files}
    for path, target in links.items():
        entries[path] = FileMeta(path=path, kind=FileKind.SYMLINK, linkname=target)
    view = SquashedView(max_symlink_depth=depth)
    view.apply(LayerIndex(layer=0, entries=entries))
    return view


NAMES = st.sampled_from(["a", "b", "c"])
ABS_PATHS = st.lists(NAMES, min_size=1, max_size=3).map(lambda ps: "/" + "/".join(ps))
TARGETS = st.lists(st.sampled_from(["a", "b", "c", "..", ".", "", "b\\a"]), max_size=5).flatmap(
    lambda ps: st.sampled_from(["/", ""]).map(lambda lead: lead + "/".join(ps)))
SUFFIXES = st.sampled_from(["", "/a", "/b/c", "/../c", "/./a"])


@settings(max_examples=500, deadline=None)
@given(files=st.lists(ABS_PATHS, max_size=4),
       links=st.dictionaries(ABS_PATHS, TARGETS, min_size=1, max_size=5),
       data=st.data(), follow_final=st.booleans(), depth=st.integers(0, 5))
def test_same_answers_as_the_former_resolver(files: list[str], links: dict[str, str],
                                              data: st.DataObject, follow_final: bool,
                                              depth: int) -> None:
    # Queries start at a link most of the time: that is where the two could differ.
    start = data.draw(st.one_of(st.sampled_from(sorted(links)), ABS_PATHS))
    query = start + data.draw(SUFFIXES)
    view = view_of([f for f in files if f not in links], links, depth)
    try:
        expected: str | type[SymlinkLoopError] = reference_resolve(view, query, follow_final, depth)
    except SymlinkLoopError:
        expected = SymlinkLoopError
    try:
        got: str | type[SymlinkLoopError] = view.resolve_path(query, follow_final)
    except SymlinkLoopError:
        got = SymlinkLoopError
    assert got == expected


def test_a_target_of_800k_parts_is_refused_at_once() -> None:
    view = view_of(["/x"], {"/link": "x/" * 800_000})
    with pytest.raises(SymlinkLoopError, match="symlink target too long"):
        view.resolve_path("/link/y")
    assert view.resolve("/link/y") is None  # what callers see: an unresolvable path
    assert view.resolve_path("/link", follow_final=False) == "/link"


def test_parts_walked_per_resolution_are_bounded() -> None:
    """Links whose targets are ~2,000-part paths ending at the next link: each one within
    PATH_MAX and the chain within the depth limit, but six of them are more parts than
    MAX_RESOLVE_PARTS."""
    deep = "/p" * (PATH_MAX // 2 - 10)
    links = {"/l0": f"{deep}/l1", **{f"{deep}/l{i}": f"{deep}/l{i + 1}" for i in range(1, 6)}}
    assert all(len(t) <= PATH_MAX for t in links.values())
    view = view_of([f"{deep}/l6"], links)
    assert 3 * deep.count("/") < MAX_RESOLVE_PARTS < 6 * deep.count("/")
    assert view.resolve_path(f"{deep}/l4") == f"{deep}/l6"  # two links: within the bound
    with pytest.raises(SymlinkLoopError, match="too many path parts"):
        view.resolve_path("/l0")


def test_a_path_past_path_max_is_refused() -> None:
    folder = "/" + "b" * 2000
    view = view_of([folder + "/f"], {folder + "/l": "c" * 3000})
    with pytest.raises(SymlinkLoopError, match="path too long"):
        view.resolve_path(folder + "/l")
    assert view.resolve_path(folder + "/l", follow_final=False) == folder + "/l"


def calls_to_resolve(view: SquashedView, path: str) -> int:
    return count_calls(lambda: view.resolve_path(path))[0]


def work(k: int) -> int:
    """Calls to resolve a link whose target has ``k`` parts, half of them '..'."""
    view = view_of(["/end"], {"/link": "/".join(["d", ".."] * (k // 2)) + "/end"})
    return calls_to_resolve(view, "/link")


def test_work_grows_linearly_with_the_target() -> None:
    small, large = work(400), work(1600)
    assert small > 400  # the counter sees per-part work
    # Four times the parts, at most four times the work (plus a constant).
    assert large <= 4 * small + 50, (small, large)
