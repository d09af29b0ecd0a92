"""The report's file totals against their plain definition: every visible regular file (and
hard link) counted, and the LARGEST_FILES largest by (size, path), the greater path winning a
tie at the cut, listed largest first and by path among equal sizes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.analyze.base import AnalysisResult
from portcullis.analyze.file_stats import LARGEST_FILES, file_stats
from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileKind, FileMeta

KINDS = [FileKind.FILE, FileKind.HARDLINK, FileKind.DIR, FileKind.SYMLINK, FileKind.CHAR]


def _reference(view: SquashedView) -> tuple[int, int, tuple[tuple[str, int, int], ...]]:
    files = [(e.meta.size, e.path, e.layer) for e in view.walk() if e.meta.is_file]
    top = sorted(files, reverse=True)[:LARGEST_FILES]
    largest = tuple((p, s, layer) for s, p, layer in sorted(top, key=lambda t: (-t[0], t[1])))
    return len(files), sum(s for s, _, _ in files), largest


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 6), st.integers(0, 2)),
                max_size=3 * LARGEST_FILES))
def test_totals_and_largest(items: list[tuple[FileKind, int, int]]) -> None:
    # Few distinct sizes: many ties, at the cut too.
    layers: dict[int, dict[str, FileMeta]] = {0: {}, 1: {}, 2: {}}
    for i, (kind, size, layer) in enumerate(items):
        path = f"/d{i % 7}/f{i:03d}"
        layers[layer][path] = FileMeta(path=path, kind=kind, size=size)
    view = SquashedView.build([LayerIndex(layer=n, entries=e) for n, e in layers.items()])
    stats = file_stats(view, AnalysisResult())
    assert (stats.count, stats.total_size, stats.largest) == _reference(view)


def test_ties_at_the_cut_keep_the_greater_paths() -> None:
    entries = {f"/f{i:03d}": FileMeta(path=f"/f{i:03d}", kind=FileKind.FILE, size=1)
               for i in range(LARGEST_FILES + 10)}
    entries["/big"] = FileMeta(path="/big", kind=FileKind.FILE, size=9)
    stats = file_stats(SquashedView.build([LayerIndex(layer=0, entries=entries)]),
                       AnalysisResult())
    assert stats.largest[0] == ("/big", 9, 0)
    assert [p for p, _, _ in stats.largest[1:]] == [f"/f{i:03d}" for i in range(11, 60)]
    assert stats.count == LARGEST_FILES + 11 and stats.total_size == LARGEST_FILES + 19
