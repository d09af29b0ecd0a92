"""The view's fast build route (most paths of a layer added in one loop) gives exactly what
putting every path of every layer one at a time, parents first, gives: the reference below.

Random layer stacks over a small tree, so that layers meet: files over directories and back,
whiteouts and opaque dirs, a path deleted and written again by one layer, hard links and
symlinks, paths whose parents no layer wrote (implied directories).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from portcullis.layers.index import LayerIndex
from portcullis.layers.view import IMPLIED_DIR_OVERHEAD, SquashedView
from portcullis.model.files import Change, FileEntry, FileKind, FileMeta

NAMES = ["/", "/a", "/a/b", "/a/b/c", "/a/b/d", "/a/e", "/f", "/f/g", "/h/i/j"]
KINDS = [FileKind.FILE, FileKind.DIR, FileKind.SYMLINK, FileKind.HARDLINK]


@dataclass
class Reference:
    """The squash rules, one path at a time: every layer's opaque dirs, then its whiteouts,
    then its entries sorted by (depth, path)."""

    current: dict[str, FileEntry] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=lambda: {"/": set()})
    history: dict[str, list[Change]] = field(default_factory=dict)
    hidden: list[FileEntry] = field(default_factory=list)
    implied: int = 0  # what the view counts against IMPLIED_DIR_BUDGET

    def apply(self, index: LayerIndex) -> None:
        layer = index.layer
        for directory in sorted(index.opaque):
            for child in sorted(self.children.get(directory, ())):
                self.remove(child, layer)
        for path in sorted(index.deleted):
            if path in self.current or path in self.children:  # implied directories too
                self.remove(path, layer)
        for path in sorted(index.entries, key=lambda p: (p.count("/"), p)):
            self.put(index.entries[path], layer)

    def put(self, meta: FileMeta, layer: int) -> None:
        path = meta.path
        history = self.history.setdefault(path, [])
        old = self.current.get(path)
        if old is not None:
            if old.meta.is_dir and not meta.is_dir:
                for child in sorted(self.children.get(path, ())):
                    self.remove(child, layer)
            if not (old.meta.is_dir and meta.is_dir and old.layer == layer):
                self.retire(old, layer)
        elif not meta.is_dir and path in self.children:  # over an implied directory
            for child in sorted(self.children.pop(path)):
                self.remove(child, layer)
        if not history or history[-1].layer != layer:
            history.append(Change(layer=layer, action="add" if old is None else "modify"))
        self.current[path] = FileEntry(meta=meta, layer=layer)
        while path != "/":
            parent = path.rsplit("/", 1)[0] or "/"
            if parent not in self.children and parent not in self.current:
                self.implied += len(parent) + IMPLIED_DIR_OVERHEAD
            self.children.setdefault(parent, set()).add(path)
            path = parent

    def retire(self, old: FileEntry, layer: int) -> None:
        if not old.meta.is_dir:
            self.hidden.append(FileEntry(meta=old.meta, layer=old.layer, visible=False,
                                         removed_in=layer))

    def remove(self, path: str, layer: int) -> None:
        stack = [path]
        while stack:
            p = stack.pop()
            stack.extend(sorted(self.children.pop(p, ())))
            entry = self.current.pop(p, None)
            if entry is not None:
                self.retire(entry, layer)
                self.history[p].append(Change(layer=layer, action="delete"))
        self.children.get(path.rsplit("/", 1)[0] or "/", set()).discard(path)

    def stamped(self, entry: FileEntry) -> FileEntry:
        return FileEntry(meta=entry.meta, layer=entry.layer,
                         history=tuple(self.history[entry.path]), visible=entry.visible,
                         removed_in=entry.removed_in)


def _meta(path: str, kind: FileKind, size: int) -> FileMeta:
    linkname = {FileKind.SYMLINK: "../f", FileKind.HARDLINK: "/f/g"}.get(kind)
    return FileMeta(path=path, kind=kind, size=size if kind is FileKind.FILE else 0,
                    linkname=linkname)


@st.composite
def layer_indexes(draw: st.DrawFn) -> list[LayerIndex]:
    indexes = []
    for layer in range(draw(st.integers(1, 5))):
        written = draw(st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(KINDS),
                                          st.integers(0, 3)), max_size=8))
        indexes.append(LayerIndex(
            layer=layer,
            entries={path: _meta(path, kind, size) for path, kind, size in written},
            deleted=set(draw(st.lists(st.sampled_from(NAMES), max_size=3))),
            opaque=set(draw(st.lists(st.sampled_from(["/", "/a", "/a/b", "/f"]),
                                     max_size=2))),
        ))
    return indexes


# A directory replaced by a file in layer 1, with a path below it written again under a
# directory that layer 0 only implied: the order decides whether that directory is implied.
REPLACED_DIR = [
    LayerIndex(layer=0, entries={"/a": _meta("/a", FileKind.DIR, 0),
                                 "/a/b/c": _meta("/a/b/c", FileKind.FILE, 1)}),
    LayerIndex(layer=1, entries={"/a": _meta("/a", FileKind.FILE, 1),
                                 "/a/b": _meta("/a/b", FileKind.DIR, 0),
                                 "/a/b/c": _meta("/a/b/c", FileKind.FILE, 2)}),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_indexes())
@example(REPLACED_DIR)
def test_view_equals_one_path_at_a_time(indexes: list[LayerIndex]) -> None:
    view = SquashedView.build(indexes)
    reference = Reference()
    for index in indexes:
        reference.apply(index)
    expected = [reference.stamped(reference.current[p]) for p in sorted(reference.current)]
    assert list(view.walk()) == expected
    assert list(view.hidden()) == [reference.stamped(e) for e in reference.hidden]
    assert view._implied_cost == reference.implied
    assert view._children == reference.children
    everywhere = {p for index in indexes for p in index.entries} | {
        p.rsplit("/", 1)[0] or "/" for p in NAMES}
    for path in everywhere:
        assert view.history(path) == tuple(reference.history.get(path, ())), path
        assert view.exists(path) == (path in reference.current
                                     or bool(reference.children.get(path))), path
        versions = [reference.stamped(e) for e in reference.hidden if e.path == path]
        if path in reference.current:
            versions.append(reference.stamped(reference.current[path]))
        assert view.versions(path) == sorted(versions, key=lambda e: e.layer), path
        found = view.entry(path)
        assert found == (reference.stamped(reference.current[path])
                         if path in reference.current else None)
        for spelling in (path.lstrip("/"), path + "/", "/." + path, path.replace("/", "//")):
            assert view.entry(spelling) == found, spelling

