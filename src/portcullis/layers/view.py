"""The squashed filesystem: every layer applied bottom-up, every path with its history.

Deleted and overwritten versions are kept (``visible=False``): their bytes are still inside
the image and analyzers may look at them. Symlinks resolve inside the image only.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Protocol

from portcullis.layers.content import ContentStore
from portcullis.layers.index import LayerIndex
from portcullis.model.files import Change, FileEntry, FileKind, FileMeta, normalize

ROOT = "/"


class Filesystem(Protocol):
    """What a tree analyzer may ask of the image."""

    def entry(self, path: str) -> FileEntry | None: ...

    def resolve(self, path: str) -> FileEntry | None: ...

    def resolve_path(self, path: str, follow_final: bool = True) -> str: ...

    def read(self, path: str) -> bytes | None: ...

    def read_entry(self, entry: FileEntry) -> bytes | None: ...

    def glob(self, pattern: str) -> Iterator[FileEntry]: ...

    def walk(self) -> Iterator[FileEntry]: ...

    def hidden(self) -> Iterator[FileEntry]: ...

    def versions(self, path: str) -> list[FileEntry]: ...


class SymlinkLoopError(Exception):
    pass


class SquashedView:
    def __init__(self, content: ContentStore | None = None, max_symlink_depth: int = 40) -> None:
        self._current: dict[str, FileEntry] = {}
        self._sorted: list[str] | None = None
        self._children: dict[str, set[str]] = {ROOT: set()}
        self._history: dict[str, list[Change]] = {}
        self._hidden: list[FileEntry] = []
        self._content = content or ContentStore()
        self._max_depth = max_symlink_depth
        self.layers = 0

    # building ---------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        indexes: Iterable[LayerIndex],
        content: ContentStore | None = None,
        max_symlink_depth: int = 40,
    ) -> SquashedView:
        view = cls(content, max_symlink_depth)
        for index in indexes:
            view.apply(index)
        return view

    def apply(self, index: LayerIndex) -> None:
        """Apply one layer: opaque dirs and whiteouts first (they hide lower layers only)."""
        layer = index.layer
        for directory in sorted(index.opaque):
            for child in sorted(self._children.get(directory, ())):
                self._remove_tree(child, layer)
        for path in sorted(index.deleted):
            if path in self._current:
                self._remove_tree(path, layer)
        for path in sorted(index.entries, key=lambda p: (p.count("/"), p)):
            self._put(index.entries[path], layer)
        self.layers = max(self.layers, layer + 1)

    def _put(self, meta: FileMeta, layer: int) -> None:
        path = meta.path
        history = self._history.setdefault(path, [])
        old = self._current.get(path)
        if old is not None:
            if old.meta.is_dir and not meta.is_dir:
                for child in sorted(self._children.get(path, ())):
                    self._remove_tree(child, layer)
            if not (old.meta.is_dir and meta.is_dir and old.layer == layer):
                self._retire(old, layer)
        action = "add" if old is None else "modify"
        if not history or history[-1].layer != layer:
            history.append(Change(layer=layer, action=action))
        self._current[path] = FileEntry(meta=meta, layer=layer, history=())
        self._sorted = None
        self._link(path)

    def _link(self, path: str) -> None:
        while path != ROOT:
            parent = posixpath.dirname(path)
            siblings = self._children.setdefault(parent, set())
            if path in siblings:
                return
            siblings.add(path)
            if parent not in self._current and parent != ROOT:
                # Implicit parent directory (tars may omit it): exists without metadata.
                self._history.setdefault(parent, [])
            path = parent

    def _retire(self, old: FileEntry, layer: int) -> None:
        if old.meta.is_dir:
            return  # a directory's bytes are its children, tracked on their own
        self._hidden.append(replace(old, visible=False, removed_in=layer))

    def _remove_tree(self, path: str, layer: int) -> None:
        stack = [path]
        while stack:
            p = stack.pop()
            stack.extend(self._children.pop(p, ()))
            entry = self._current.pop(p, None)
            self._sorted = None
            if entry is not None:
                self._retire(entry, layer)
                self._history.setdefault(p, []).append(Change(layer=layer, action="delete"))
        parent = posixpath.dirname(path)
        self._children.get(parent, set()).discard(path)

    # queries ----------------------------------------------------------------------------------

    def _with_history(self, entry: FileEntry) -> FileEntry:
        return replace(entry, history=tuple(self._history.get(entry.path, ())))

    def entry(self, path: str) -> FileEntry | None:
        """The visible entry at ``path`` itself (a symlink is returned, not followed)."""
        found = self._current.get(normalize(path))
        return self._with_history(found) if found else None

    def history(self, path: str) -> tuple[Change, ...]:
        return tuple(self._history.get(normalize(path), ()))

    def exists(self, path: str) -> bool:
        p = normalize(path)
        return p in self._current or bool(self._children.get(p))

    def resolve_path(self, path: str, follow_final: bool = True) -> str:
        """Resolve symlinks inside the image; ``..`` and absolute targets stay inside it."""
        parts = [p for p in normalize(path).split("/") if p]
        resolved = ROOT
        budget = self._max_depth
        while parts:
            part = parts.pop(0)
            candidate = posixpath.join(resolved, part)
            entry = self._current.get(candidate)
            is_last = not parts
            if entry and entry.meta.kind is FileKind.SYMLINK and (follow_final or not is_last):
                budget -= 1
                if budget < 0:
                    raise SymlinkLoopError(f"too many levels of symbolic links at {path}")
                target = entry.meta.linkname or ""
                base = ROOT if target.startswith("/") else resolved
                new = normalize(posixpath.join(base, target))
                parts = [p for p in new.split("/") if p] + parts
                resolved = ROOT
                continue
            resolved = candidate
        return resolved

    def resolve(self, path: str) -> FileEntry | None:
        """The entry ``path`` leads to, following symlinks (None if dangling or a loop)."""
        try:
            target = self.resolve_path(path)
        except SymlinkLoopError:
            return None
        return self.entry(target)

    def read(self, path: str) -> bytes | None:
        entry = self.resolve(path)
        return self.read_entry(entry) if entry else None

    def read_entry(self, entry: FileEntry) -> bytes | None:
        """Captured content of a version (only files some analyzer asked for are captured)."""
        meta = entry.meta
        if meta.kind is FileKind.HARDLINK and meta.linkname:
            data = self._content.get(entry.layer, meta.linkname)
            if data is not None:
                return data
            target = self._current.get(meta.linkname)
            if target is not None and target.meta.kind is FileKind.FILE:
                return self._content.get(target.layer, target.path)
            return None
        if meta.kind is not FileKind.FILE:
            return None
        return self._content.get(entry.layer, meta.path)

    def _sorted_paths(self) -> list[str]:
        # Analyzers glob many times once the view is built; sort once per state.
        if self._sorted is None:
            self._sorted = sorted(self._current)
        return self._sorted

    def walk(self) -> Iterator[FileEntry]:
        for path in self._sorted_paths():
            yield self._with_history(self._current[path])

    def glob(self, pattern: str) -> Iterator[FileEntry]:
        match = re.compile(fnmatch.translate(pattern)).match
        for path in self._sorted_paths():
            if match(path):
                yield self._with_history(self._current[path])

    def hidden(self) -> Iterator[FileEntry]:
        for entry in self._hidden:
            yield replace(entry, history=tuple(self._history.get(entry.path, ())))

    def versions(self, path: str) -> list[FileEntry]:
        """Every version of ``path`` bottom-up: hidden (deleted/overwritten) ones, then the
        visible one. Lets analyzers see how a file (a package DB, say) changed layer by layer."""
        p = normalize(path)
        history = tuple(self._history.get(p, ()))
        found = [replace(e, history=history) for e in self._hidden if e.path == p]
        current = self._current.get(p)
        if current is not None:
            found.append(replace(current, history=history))
        return sorted(found, key=lambda e: e.layer)

    def close(self) -> None:
        """Drop captured contents (their spool files)."""
        self._content.close()

    def __len__(self) -> int:
        return len(self._current)
