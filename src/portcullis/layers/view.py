"""The squashed filesystem: every layer applied bottom-up, every path with its history.

Deleted and overwritten versions are kept (``visible=False``): their bytes are still inside
the image and analyzers may look at them. Symlinks resolve inside the image only.

Queries cost what they return, not the size of the image: entries are stamped with their
final history once (after the last ``apply``), hidden versions are indexed by path, and
``glob`` looks candidates up by literal prefix, basename or extension before matching.
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import msgspec

from portcullis.errors import LimitExceededError
from portcullis.layers.content import ContentStore
from portcullis.layers.index import LayerIndex
from portcullis.model.files import Change, FileEntry, FileKind, FileMeta, normalize

ROOT = "/"
_WILDCARDS = "*?["  # what fnmatch treats as special; "]" only closes a "[" class
PATH_MAX = 4096
"""Characters in a path or symlink target, as Linux and the tar reader allow."""
MAX_RESOLVE_PARTS = 2 * PATH_MAX
"""Parts one resolution may walk, links' targets included: a real path has far fewer."""
IMPLIED_DIR_BUDGET = 128 << 20
"""About the bytes the implicit parent directories of a whole image may take (path strings,
their sets of children): room for ~300,000 of them, far more than real images imply."""
IMPLIED_DIR_OVERHEAD = 300
"""About the bytes one implicit directory takes besides its path: a dict slot and a set."""


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

    def dirs_among(self, paths: Iterable[str]) -> frozenset[str]: ...


class SymlinkLoopError(Exception):
    pass


def _parent(path: str) -> str:
    """The parent of a normalised absolute path other than the root."""
    return path[: path.rfind("/")] or ROOT


def _basename(path: str) -> str:
    return path[path.rfind("/") + 1 :]


def _extension(name: str) -> str | None:
    """From the last dot of a basename on (".json", ".bashrc"); None without a dot."""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else None


def _depth_first(path: str) -> tuple[int, str]:
    """Parents before children, the order a layer's paths are put in."""
    return path.count("/"), path


def _name_key(name: str) -> str:
    """How the index groups a basename: its extension, or the whole name without one. Few
    keys (not one per file) keep the index small; every basename lookup still finds its group."""
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else name


def literal_prefix(pattern: str) -> str:
    """The start of ``pattern`` before its first wildcard: every match starts with it."""
    cut = min((i for i in (pattern.find(c) for c in _WILDCARDS) if i >= 0), default=len(pattern))
    return pattern[:cut]


def literal_suffix(pattern: str) -> str:
    """The end of ``pattern`` after its last wildcard or "]": every match ends with it.

    Stopping at any "]" is conservative: characters after a "]" are never inside a class.
    """
    cut = max(pattern.rfind(c) for c in (*_WILDCARDS, "]"))
    return pattern[cut + 1 :]


def matcher(pattern: str) -> Callable[[str], object]:
    """A test of a path against the fnmatch ``pattern`` (``*`` crosses "/", as fnmatch's does).

    Most patterns analyzers glob have at most one ``*`` and no other wildcard ("/etc/cron.d/*",
    "*/Cargo.lock", "/etc/ssh/ssh_host_*_key"): a path matches those when it starts with the
    text before the star and ends with the text after it, without overlap; three C calls, and
    no regular expression to translate and compile (most patterns are asked once a scan).
    """
    head, star, tail = pattern.partition("*")
    if "?" in pattern or "[" in pattern or "*" in tail:
        return re.compile(fnmatch.translate(pattern)).match
    if not star:
        return pattern.__eq__
    size = len(head) + len(tail)
    return lambda path: len(path) >= size and path.startswith(head) and path.endswith(tail)


class PathIndex(msgspec.Struct):
    """The visible paths, sorted, and grouped (each group sorted too) by basename extension,
    or by the whole basename when it has no dot: a glob only matches paths that could match."""

    paths: list[str]
    groups: dict[str, list[str]] = msgspec.field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[str]) -> PathIndex:
        index = cls(sorted(paths))
        groups = index.groups
        for path in index.paths:
            # _name_key(_basename(path)), inline (once per visible path)
            dot = path.rfind(".")
            key = path[dot:] if dot > path.rfind("/") else path[path.rfind("/") + 1 :]
            group = groups.get(key)
            if group is None:
                groups[key] = [path]
            else:
                group.append(path)
        return index

    def candidates(self, pattern: str) -> Sequence[str]:
        """A sorted superset of the paths ``pattern`` matches (fnmatch: ``*`` crosses "/").

        The smaller of: the sorted run of paths sharing the pattern's literal prefix; the
        group of the basename when the pattern ends in "/<literal>"; the group of the
        extension when it ends in a literal with a dot. Without a literal, every path.
        """
        options: list[Sequence[str]] = [self._with_prefix(literal_prefix(pattern))]
        tail = literal_suffix(pattern)
        if "/" in tail:
            # A match ends with "/<tail's last part>": that part is its whole basename.
            options.append(self.groups.get(_name_key(_basename(tail)), []))
        else:
            # A match ends with ``tail``, so its basename does too, and a basename's last
            # dot is then the tail's last dot: both share the extension.
            extension = _extension(tail)
            if extension is not None:
                options.append(self.groups.get(extension, []))
        return min(options, key=len)

    def _with_prefix(self, prefix: str) -> Sequence[str]:
        if not prefix:
            return self.paths
        low = bisect.bisect_left(self.paths, prefix)
        # Cutting every path to the prefix's length keeps them sorted: the paths that start
        # with ``prefix`` are one run.
        size = len(prefix)
        high = bisect.bisect_right(self.paths, prefix, low, key=lambda p: p[:size])
        return self.paths[low:high]


class SquashedView:
    def __init__(self, content: ContentStore | None = None, max_symlink_depth: int = 40) -> None:
        self._current: dict[str, FileEntry] = {}
        self._children: dict[str, set[str]] = {ROOT: set()}
        # path → its history, a shared tuple (see _shared)
        self._history: dict[str, tuple[Change, ...]] = {}
        self._hidden: list[FileEntry] = []
        # path → its position in _hidden, or positions when it has several (few do: an int
        # takes less room than a list per path on an image with 100k+ hidden versions)
        self._hidden_at: dict[str, int | list[int]] = {}
        # Paths whose history changed since their entries were last stamped with it.
        self._unstamped: set[str] = set()
        self._index: PathIndex | None = None  # None once the visible paths change
        # Most paths share a history (say "added in layer 0"): one Change per (layer, action)
        # and one tuple per distinct history keep 100k+ entries from holding 100k+ copies.
        self._changes: dict[tuple[int, str], Change] = {}
        # Keyed by the ids of the (shared) changes: hashing ints is C work, hashing a Change
        # hashes its fields.
        self._histories: dict[tuple[int, ...], tuple[Change, ...]] = {}
        self._extended: dict[tuple[int, int], tuple[Change, ...]] = {}  # see _extend
        self._content = content or ContentStore()
        self._max_depth = max_symlink_depth
        self._implied_cost = 0  # about the bytes implicit parent directories take
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
            # An implied directory (files below it, no entry of its own) is deleted too.
            if path in self._current or path in self._children:
                self._remove_tree(path, layer)
        entries = index.entries
        current = self._current
        # Set operations on the keys (in C, over the smaller side): a layer has ~10k paths.
        present = entries.keys() & current.keys()
        if any(current[p].meta.is_dir and not entries[p].is_dir for p in present) \
                or self._over_implied(entries):
            # A directory replaced by a non-directory takes what is under it along, and what
            # this layer writes below it again may need parents this layer writes too: one
            # path at a time, parents first (which parents are implied depends on the order).
            for path in sorted(entries, key=_depth_first):
                self._put(entries[path], layer)
        else:
            # Paths already there (few) are overwritten in the same order as above; the new
            # ones (most) can only be added, and in any order that puts parents first (plain
            # sorting does), which _add does without the checks an overwrite needs.
            for path in sorted(present, key=_depth_first):
                self._put(entries[path], layer)
            if len(present) < len(entries):
                # Sorted from the layer's order, which is nearly sorted already (a set's
                # order is not: sorting that costs ten times more).
                self._add(sorted([p for p in entries if p not in current]), entries, layer)
        self.layers = max(self.layers, layer + 1)

    def _over_implied(self, entries: dict[str, FileMeta]) -> bool:
        """True when the layer writes a non-directory where only an implied directory is."""
        current = self._current
        return any(p not in current and not entries[p].is_dir
                   for p in self._children.keys() & entries.keys())

    def _add(self, paths: list[str], entries: dict[str, FileMeta], layer: int) -> None:
        """Put ``paths``, none of them visible now, sorted: what _put does for a path that is
        not there, in bulk (most entries of a layer take this route): the entries first, then
        the links to their parents, so that a parent this layer writes is not implied."""
        current = self._current
        histories = self._history
        added = self._change(layer, "add")
        only_added = self._shared((added,))
        self._index = None
        # Paths with a history (deleted before, or by this very layer's whiteout) are few.
        known = [p for p in paths if p in histories]
        for path in known:
            past = histories[path]
            history = histories[path] = \
                past if past[-1].layer == layer else self._extend(past, added)
            current[path] = FileEntry(meta=entries[path], layer=layer, history=history)
            if path in self._hidden_at:
                self._unstamped.add(path)  # its hidden versions' history changed
        fresh = [p for p in paths if p not in histories] if known else paths
        histories.update(dict.fromkeys(fresh, only_added))
        current.update({p: FileEntry(meta=entries[p], layer=layer, history=only_added)
                        for p in fresh})
        if paths and paths[0] == ROOT:  # sorted: the root comes first; it has no parent
            paths = paths[1:]
        parents = [p[: p.rfind("/")] or ROOT for p in paths]
        children = self._children
        # Each parent not there yet is made, and linked up (the implied ones counted), once.
        for parent in dict.fromkeys(parents):
            if parent not in children:  # linking an earlier one may have made it
                if parent not in current:
                    self._imply(parent, layer)
                children[parent] = set()
                self._link(parent, layer)
        # set.add(children[parent], path) for each path, called from C (no loop body).
        deque(map(set.add, map(children.__getitem__, parents), paths), maxlen=0)

    def _put(self, meta: FileMeta, layer: int) -> None:
        path = meta.path
        history = self._history.get(path, ())
        old = self._current.get(path)
        if old is not None:
            if old.meta.is_dir and not meta.is_dir:
                for child in sorted(self._children.get(path, ())):
                    self._remove_tree(child, layer)
            if not (old.meta.is_dir and meta.is_dir and old.layer == layer):
                self._retire(old, layer)
        else:
            if not meta.is_dir and path in self._children:
                # Over an implied directory: what is below it goes, as below a real one.
                for child in sorted(self._children.pop(path)):
                    self._remove_tree(child, layer)
            self._index = None
        action = "add" if old is None else "modify"
        if not history or history[-1].layer != layer:
            history = self._history[path] = self._extend(history, self._change(layer, action))
        # Stamped with its history so far: for most paths (written once) that is final, and
        # _stamp() has nothing to redo for them.
        self._current[path] = FileEntry(meta=meta, layer=layer, history=history)
        if path in self._hidden_at:
            self._unstamped.add(path)  # its hidden versions' history changed
        self._link(path, layer)

    def _link(self, path: str, layer: int) -> None:
        """Make ``path`` a child of its parent, and so on up to the first parent already in
        ``_children``: every path there other than the root is in its parent's set (paths
        enter it only through here, and _remove_tree drops a path with all below it)."""
        while path != ROOT:
            parent = _parent(path)
            siblings = self._children.get(parent)
            if siblings is not None:
                siblings.add(path)
                return
            if parent not in self._current:
                # An implicit parent directory (tars may omit it): it exists without
                # metadata or history, and costs its path string and its children's set.
                self._imply(parent, layer)
            self._children[parent] = {path}
            path = parent

    def _imply(self, directory: str, layer: int) -> None:
        """Count an implicit parent against IMPLIED_DIR_BUDGET. A tar entry's name is at most
        PATH_MAX long, but one deep name without its folders' entries implies ~PATH_MAX/2
        folders of up to PATH_MAX characters each: a tiny layer could fill gigabytes."""
        self._implied_cost += len(directory) + IMPLIED_DIR_OVERHEAD
        if self._implied_cost > IMPLIED_DIR_BUDGET:
            raise LimitExceededError("implied_directories", IMPLIED_DIR_BUDGET,
                                     f"layer {layer}")

    def _retire(self, old: FileEntry, layer: int) -> None:
        if old.meta.is_dir:
            return  # a directory's bytes are its children, tracked on their own
        at = self._hidden_at.get(old.path)
        position = len(self._hidden)
        if at is None:
            self._hidden_at[old.path] = position
        elif isinstance(at, int):
            self._hidden_at[old.path] = [at, position]
        else:
            at.append(position)
        self._hidden.append(FileEntry(meta=old.meta, layer=old.layer, history=old.history,
                                     visible=False, removed_in=layer))

    def _remove_tree(self, path: str, layer: int) -> None:
        deleted = self._change(layer, "delete")
        histories = self._history
        stack = [path]
        while stack:
            p = stack.pop()
            # Sorted: a set's order depends on the process's string hashes, and the order of
            # the hidden versions (and so of what is reported from them) must not.
            stack.extend(sorted(self._children.pop(p, ())))
            entry = self._current.pop(p, None)
            if entry is not None:
                self._index = None
                self._retire(entry, layer)
                histories[p] = self._extend(histories.get(p, ()), deleted)
                self._unstamped.add(p)
        self._children.get(_parent(path), set()).discard(path)

    def _change(self, layer: int, action: str) -> Change:
        change = self._changes.get((layer, action))
        if change is None:
            change = self._changes[(layer, action)] = Change(layer=layer, action=action)
        return change

    def _extend(self, history: tuple[Change, ...], change: Change) -> tuple[Change, ...]:
        """The shared tuple of ``history`` (a shared tuple) followed by ``change``. Paths
        deleted together mostly had one history: one lookup by the two ids, not a tuple of
        ids per path."""
        key = (id(history), id(change))  # both are kept by the view, so their ids stay theirs
        extended = self._extended.get(key)
        if extended is None:
            extended = self._extended[key] = self._shared((*history, change))
        return extended

    def _shared(self, history: tuple[Change, ...]) -> tuple[Change, ...]:
        key = tuple(map(id, history))
        shared = self._histories.get(key)
        if shared is None:
            shared = self._histories[key] = history
        return shared

    def _stamp(self) -> None:
        """Give the entries of every path changed since the last query their full history,
        once: queries then hand out the same objects instead of a copy per call."""
        for path in self._unstamped:
            history = self._history.get(path, ())
            current = self._current.get(path)
            if current is not None and current.history is not history:
                self._current[path] = FileEntry(meta=current.meta, layer=current.layer,
                                                history=history)
            for i in self._hidden_positions(path):
                old = self._hidden[i]
                if old.history is not history:
                    self._hidden[i] = FileEntry(meta=old.meta, layer=old.layer, history=history,
                                                visible=False, removed_in=old.removed_in)
        self._unstamped.clear()

    def _hidden_positions(self, path: str) -> list[int]:
        at = self._hidden_at.get(path)
        if at is None:
            return []
        return [at] if isinstance(at, int) else at

    def _paths(self) -> PathIndex:
        # Analyzers glob many times once the view is built: index once per set of paths.
        self._stamp()
        if self._index is None:
            self._index = PathIndex.of(self._current)
        return self._index

    # queries ----------------------------------------------------------------------------------

    def entry(self, path: str) -> FileEntry | None:
        """The visible entry at ``path`` itself (a symlink is returned, not followed)."""
        if self._unstamped:
            self._stamp()
        # Tree analyzers ask ~10k times a scan, mostly for paths that are there: every key is
        # normalised, so a path found as given needs no normalize().
        found = self._current.get(path)
        return found if found is not None else self._current.get(normalize(path))

    def history(self, path: str) -> tuple[Change, ...]:
        return self._history.get(normalize(path), ())

    def exists(self, path: str) -> bool:
        p = normalize(path)
        return p in self._current or bool(self._children.get(p))

    def resolve_path(self, path: str, follow_final: bool = True) -> str:
        """Resolve symlinks inside the image; ``..`` and absolute targets stay inside it.

        Linear in the parts it walks: ``pending`` is a stack (next part last) and ``resolved``
        keeps the path string of every resolved prefix, so a target's ``..`` cuts it without
        walking it again. Bounded: at most ``max_symlink_depth`` links, targets and resolved
        paths of at most PATH_MAX characters, and MAX_RESOLVE_PARTS parts in all; past any of
        them it is a SymlinkLoopError, which callers treat as an unresolvable path.
        """
        pending = [p for p in normalize(path).split("/") if p]
        pending.reverse()
        resolved: list[str] = []  # resolved[i]: the path of the first i+1 resolved parts
        budget = self._max_depth
        walked = 0
        while pending:
            walked += 1
            if walked > MAX_RESOLVE_PARTS:
                raise SymlinkLoopError(f"too many path parts to resolve at {path[:200]}")
            part = pending.pop()
            candidate = (resolved[-1] if resolved else "") + "/" + part
            if len(candidate) > PATH_MAX:
                raise SymlinkLoopError(f"path too long to resolve at {path[:200]}")
            entry = self._current.get(candidate)
            if entry and entry.meta.kind is FileKind.SYMLINK and (follow_final or pending):
                budget -= 1
                if budget < 0:
                    raise SymlinkLoopError(f"too many levels of symbolic links at {path}")
                self._expand(entry.meta.linkname or "", resolved, pending, path)
                continue
            resolved.append(candidate)
        return resolved[-1] if resolved else ROOT

    @staticmethod
    def _expand(target: str, resolved: list[str], pending: list[str], path: str) -> None:
        """Put a symlink's ``target`` in place of the link: the lexical normalisation of
        ``normalize(join(resolved, target))``, done on the two lists in the target's length."""
        if len(target) > PATH_MAX:
            raise SymlinkLoopError(f"symlink target too long at {path[:200]}")
        if target.startswith("/"):
            resolved.clear()
        parts: list[str] = []
        for part in target.replace("\\", "/").split("/"):
            if part == "..":
                if parts:
                    parts.pop()
                elif resolved:
                    resolved.pop()
            elif part and part != ".":
                parts.append(part)
        parts.reverse()
        pending.extend(parts)

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
        """Captured content of a version (only files some analyzer asked for are captured).
        Depends on the entry's layer, path, kind and link target only (analyze/tree_reuse.py
        replays a read by those four)."""
        where = self._content_of(entry)
        return self._content.get(*where) if where is not None else None

    def read_digest(self, entry: FileEntry) -> bytes | None:
        """The sha256 of what ``read_entry`` returns (None when it returns None), without
        reading it when the store knows it (a replayed read compares only this)."""
        where = self._content_of(entry)
        return self._content.digest(*where) if where is not None else None

    def _content_of(self, entry: FileEntry) -> tuple[int, str] | None:
        """Which captured item holds a version's bytes (it may hold none)."""
        meta = entry.meta
        if meta.kind is FileKind.HARDLINK and meta.linkname:
            if self._content.has(entry.layer, meta.linkname):
                return entry.layer, meta.linkname
            target = self._current.get(meta.linkname)
            if target is not None and target.meta.kind is FileKind.FILE:
                return target.layer, target.path
            return None
        if meta.kind is not FileKind.FILE:
            return None
        return entry.layer, meta.path

    def dirs_among(self, paths: Iterable[str]) -> frozenset[str]:
        """Those of ``paths`` (as given) that are visible directories. A narrow question for
        a package DB's file list: its answer is small, so an analyzer's recorded answers
        (analyze/tree_reuse.py) stay small too."""
        return frozenset(self.dirs_in_order(paths))

    def dirs_in_order(self, paths: Iterable[str]) -> list[str]:
        """What ``dirs_among`` finds, in the order of ``paths``."""
        if not isinstance(paths, list | tuple):
            paths = list(paths)
        current = self._current
        directory = FileKind.DIR
        found = []
        # Entries' kinds never change after the build (no stamping needed for them).
        for path, entry in zip(paths, map(current.get, paths), strict=True):
            found_entry = entry if entry is not None else current.get(normalize(path))
            if found_entry is not None and found_entry.meta.kind is directory:
                found.append(path)
        return found

    def walk(self) -> Iterator[FileEntry]:
        """Every visible entry, sorted by path."""
        # A C-level iterator (no generator frame per entry): callers walk ~10k entries a
        # scan, several times.
        return map(self._current.__getitem__, self._paths().paths)

    def glob(self, pattern: str) -> Iterator[FileEntry]:
        """Visible entries whose path matches the fnmatch ``pattern`` (``*`` crosses "/"),
        sorted by path. Only the index's candidates for the pattern are matched."""
        candidates = self._paths().candidates(pattern)
        return map(self._current.__getitem__, filter(matcher(pattern), candidates))

    def hidden(self) -> Iterator[FileEntry]:
        """Every deleted or overwritten version, in the order layers hid them."""
        self._stamp()
        yield from self._hidden

    def versions(self, path: str) -> list[FileEntry]:
        """Every version of ``path`` bottom-up: hidden (deleted/overwritten) ones, then the
        visible one. Lets analyzers see how a file (a package DB, say) changed layer by layer."""
        self._stamp()
        p = normalize(path)
        found = [self._hidden[i] for i in self._hidden_positions(p)]
        current = self._current.get(p)
        if current is not None:
            found.append(current)
        return sorted(found, key=lambda e: e.layer)

    def close(self) -> None:
        """Drop captured contents (their spool files)."""
        self._content.close()

    def __len__(self) -> int:
        return len(self._current)
