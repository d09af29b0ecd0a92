"""Queries on the squashed view cost what they return, not the size of the image.

Work is counted, not timed: every Python and builtin call made during a query (sys.setprofile),
on a view with N hidden and N visible unrelated files and on one with 4N. A query that scanned
every entry would make at least 3N more calls on the larger view; a bisect makes a few.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from portcullis.analyze.provenance import restamp
from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileKind, FileMeta
from portcullis.model.package import Package

PACKAGE = "/app/node_modules/left-pad/package.json"


def _calls(query: Callable[[], Any], only: Callable[[FrameType], bool] | None = None) -> int:
    count = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call") and (only is None or only(frame)):
            count += 1

    query()  # warm caches (compiled regexes) so that only the query's own work is counted
    sys.setprofile(profile)
    try:
        query()
    finally:
        sys.setprofile(None)
    return count


def _view(n: int) -> SquashedView:
    """N files written twice (N hidden versions), a few npm packages, one of them upgraded."""
    def meta(path: str) -> FileMeta:
        return FileMeta(path=path, kind=FileKind.FILE, size=1)

    noise = [f"/usr/share/doc/pkg{i % 97}/file{i}.txt" for i in range(n)]
    npm = [f"/app/node_modules/{name}/package.json" for name in ("left-pad", "is-odd", "ms")]
    view = SquashedView()
    view.apply(LayerIndex(layer=0, entries={p: meta(p) for p in [*noise, *npm]}))
    view.apply(LayerIndex(layer=1, entries={p: meta(p) for p in [*noise, PACKAGE]}))
    return view


def _work_per_query(n: int) -> dict[str, int]:
    view = _view(n)
    list(view.walk())  # the first query stamps and indexes the view, once
    entry = view.entry(PACKAGE)
    assert entry is not None
    package = Package(name="left-pad", version="1.0.0", type="npm")
    return {
        "versions": _calls(lambda: view.versions(PACKAGE)),
        "entry": _calls(lambda: view.entry(PACKAGE)),
        "glob by basename": _calls(lambda: list(view.glob("*/node_modules/*/package.json"))),
        "glob by extension": _calls(lambda: list(view.glob("*.json"))),
        "glob by prefix": _calls(lambda: list(view.glob("/app/node_modules/*"))),
        "glob exact": _calls(lambda: list(view.glob("/usr/share/doc/pkg3/file3.txt"))),
        "restamp": _calls(lambda: restamp(view, entry, [package], lambda data: [])),
    }


def test_queries_do_not_grow_with_the_image() -> None:
    small, large = _work_per_query(500), _work_per_query(2000)
    assert small.keys() == large.keys()
    for query, work in small.items():
        # 1,500 more files: a scan makes 1,500+ more calls; a bisect a few.
        assert large[query] - work <= 10, query
    assert small["versions"] > 0  # the counter does see the query's work


def test_walk_hands_out_the_same_entries_without_copying() -> None:
    view = _view(300)
    first = list(view.walk())
    second = list(view.walk())
    # FileEntry is a msgspec Struct, built in C where a profiler cannot count the calls:
    # every walk hands out the very objects the view holds.
    assert all(a is b for a, b in zip(first, second, strict=True))
    assert all(e is view.entry(e.path) for e in second)
    assert len(first) == 300 + 3
    assert [(c.layer, c.action) for c in view.entry(PACKAGE).history] == [  # type: ignore[union-attr]
        (0, "add"), (1, "modify")]


def test_apply_after_a_query_restamps_what_it_touched() -> None:
    view = _view(10)
    before = view.entry(PACKAGE)
    untouched = view.entry("/app/node_modules/ms/package.json")
    view.apply(LayerIndex(layer=2, deleted={PACKAGE}))
    assert view.entry(PACKAGE) is None
    assert view.entry("/app/node_modules/ms/package.json") is untouched
    assert [e.path for e in view.glob("*/left-pad/*")] == []
    versions = view.versions(PACKAGE)
    assert [(e.layer, e.removed_in) for e in versions] == [(0, 1), (1, 2)]
    # Every version carries the path's full history, the delete included.
    assert all([c.action for c in e.history] == ["add", "modify", "delete"] for e in versions)
    assert before is not None and [c.action for c in before.history] == ["add", "modify"]
