"""The report's file totals: count and size of the visible files, the largest ones, and the
per-layer and wasted totals the "files" analyzer worked out."""

from __future__ import annotations

import heapq

from portcullis.analyze.base import AnalysisResult
from portcullis.layers.view import SquashedView
from portcullis.model.report import FileStats

LARGEST_FILES = 50


def file_stats(view: SquashedView, result: AnalysisResult) -> FileStats:
    """Totals over the visible files; per-layer and wasted totals come from the "files"
    analyzer when it ran."""
    count = 0
    total = 0
    sizes: list[tuple[int, str, int]] = []
    for entry in view.walk():
        if not entry.meta.is_file:
            continue
        count += 1
        total += entry.meta.size
        item = (entry.meta.size, entry.path, entry.layer)
        if len(sizes) < LARGEST_FILES:
            heapq.heappush(sizes, item)
        else:
            heapq.heappushpop(sizes, item)
    largest = tuple((p, s, layer) for s, p, layer in sorted(sizes, key=lambda t: (-t[0], t[1])))
    return FileStats(count=count, total_size=total, largest=largest,
                     per_layer=result.layer_totals or (),
                     wasted_bytes=result.wasted_bytes or 0)
