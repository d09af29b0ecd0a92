"""Building the view and resolving every symlink scale linearly with the entries.

The full size (1,000,000 entries, 800,000 symlinks) is bench/bench_scale.py; here the same
shape at N and 4N entries, with work counted, not timed: Python and builtin calls during the
build and the resolutions (sys.setprofile), and memory the view holds (tracemalloc). Four
times the entries must cost at most about four times as much of each.
"""

from __future__ import annotations

import tracemalloc

from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileKind, FileMeta
from tests.unit.call_count import count_calls


def layer(n: int) -> tuple[LayerIndex, list[str]]:
    """n entries, 80% of them symlinks (relative, absolute, chained), under 110 folders."""
    index = LayerIndex(layer=0)
    links: list[str] = []
    files = n // 5

    def add(path: str, kind: FileKind, target: str | None = None) -> None:
        index.entries[path] = FileMeta(path=path, kind=kind, linkname=target)

    for top in range(10):
        add(f"/srv/t{top}", FileKind.DIR)
        for sub in range(10):
            add(f"/srv/t{top}/s{sub}", FileKind.DIR)
    for i in range(files):
        add(f"/srv/t{i % 10}/s{i // 10 % 10}/file{i}", FileKind.FILE)
    for i in range(n - files):
        j = i % files
        target = (f"/srv/t{(i - 1) % 10}/s{(i - 1) // 10 % 10}/link{i - 1}" if i % 8 == 7 else
                  f"/srv/t{j % 10}/s{j // 10 % 10}/file{j}" if i % 2 else
                  f"../../t{j % 10}/s{j // 10 % 10}/file{j}")
        path = f"/srv/t{i % 10}/s{i // 10 % 10}/link{i}"
        add(path, FileKind.SYMLINK, target)
        links.append(path)
    return index, links


def calls(n: int) -> int:
    index, links = layer(n)

    def build_and_resolve() -> list[str]:
        view = SquashedView.build([index])
        return [view.resolve_path(link) for link in links]

    count, resolved = count_calls(build_and_resolve)
    assert all(path.startswith("/srv/t") and "/file" in path for path in resolved)
    return count


def held_bytes(n: int) -> int:
    index, _ = layer(n)
    tracemalloc.start()
    try:
        view = SquashedView.build([index])
        list(view.walk())  # stamps and indexes: what a scan holds afterwards
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(view) == n + 110
    return held


def test_build_and_resolution_work_is_linear_in_entries() -> None:
    small, large = calls(5_000), calls(20_000)
    assert small > 5_000 * 2  # the counter sees per-entry work
    assert large <= 4.4 * small, (small, large)


def test_memory_held_is_linear_in_entries() -> None:
    small, large = held_bytes(5_000), held_bytes(20_000)
    assert small > 5_000 * 100  # entries are counted
    assert large <= 4.4 * small, (small, large)
