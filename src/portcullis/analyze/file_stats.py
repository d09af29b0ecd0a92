"""The report's file totals: count and size of the visible files, the largest ones, and the
per-layer and wasted totals the "files" analyzer worked out."""

from __future__ import annotations

import heapq
from operator import attrgetter

from portcullis.analyze.base import AnalysisResult
from portcullis.layers.view import SquashedView
from portcullis.model.files import FILE_KINDS, FileEntry
from portcullis.model.report import FileStats

LARGEST_FILES = 50

_size = attrgetter("meta.size")


def file_stats(view: SquashedView, result: AnalysisResult) -> FileStats:
    """Totals over the visible files; per-layer and wasted totals come from the "files"
    analyzer when it ran."""
    # Every scan runs this over the whole view (~10k entries): one comprehension and C-level
    # passes (map, sum, nlargest over plain ints), no Python loop body per file.
    files = [e for e in view.walk() if e.meta.kind in FILE_KINDS]
    sizes = list(map(_size, files))
    return FileStats(count=len(files), total_size=sum(sizes), largest=_largest(files, sizes),
                     per_layer=result.layer_totals or (),
                     wasted_bytes=result.wasted_bytes or 0)


def _largest(files: list[FileEntry], sizes: list[int]) -> tuple[tuple[str, int, int], ...]:
    """The LARGEST_FILES largest by (size, path) (of equal sizes, the greater paths), as
    (path, size, layer), largest first and by path among equal sizes."""
    if len(files) > LARGEST_FILES:
        # The smallest size that can make the cut: only files at least that large compete
        # (all ties at it included), a few more than LARGEST_FILES on most images.
        cut = heapq.nlargest(LARGEST_FILES, sizes)[-1]
        files = [e for e in files if e.meta.size >= cut]
    top = sorted(files, key=lambda e: (e.meta.size, e.meta.path), reverse=True)[:LARGEST_FILES]
    top.sort(key=lambda e: (-e.meta.size, e.meta.path))
    return tuple((e.meta.path, e.meta.size, e.layer) for e in top)
