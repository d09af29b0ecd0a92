"""Which layer brought a package: the start of its current unbroken run in the package DB.

Not merely the last layer that rewrote the DB file (every ``apt-get install`` rewrites it):
walk every version of the DB, bottom-up, and remember where each name@version appeared
after its last absence.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol, TypeVar

from msgspec.structs import replace

from portcullis.layers.view import Filesystem
from portcullis.model.files import FileEntry
from portcullis.model.package import Package

K = TypeVar("K", bound=Hashable)


def first_layers(
    fs: Filesystem, paths: Iterable[str], parse: Callable[[bytes], Iterable[K]]
) -> dict[K, int]:
    """For every key present in the final state of the DB (the union over ``paths``, which
    may be several files, like dpkg's status.d/*), the layer where its current unbroken run
    of presence began. ``parse`` turns one version of one file into keys (e.g. name@version).

    Linear in the versions and keys: each version is parsed once, and a key's presence is
    the number of files holding it, updated by what changed in each layer.
    """
    changes = _changes_by_layer(fs, paths)
    held: dict[str, set[K]] = {}  # file → keys it holds now
    holders: dict[K, int] = {}  # key → how many files hold it now
    first: dict[K, int] = {}
    for layer in sorted(changes):
        touched: set[K] = set()
        for path, entry in changes[layer].items():
            data = fs.read_entry(entry) if entry is not None else None
            new = set(parse(data)) if data is not None else set()
            old = held.pop(path, set())
            if entry is not None:
                held[path] = new
            for key in old - new:
                holders[key] -= 1
            for key in new - old:
                holders[key] = holders.get(key, 0) + 1
            touched |= old ^ new
        # Judged once the whole layer is applied: a key that moved from one file to another
        # within a layer was never absent.
        for key in touched:
            if holders.get(key, 0) <= 0:
                holders.pop(key, None)
                first.pop(key, None)
            elif key not in first:
                first[key] = layer
    return first


def _changes_by_layer(
    fs: Filesystem, paths: Iterable[str]
) -> dict[int, dict[str, FileEntry | None]]:
    """layer → file → the version that layer wrote, or None where it removed the file."""
    changes: dict[int, dict[str, FileEntry | None]] = {}
    for path in dict.fromkeys(paths):
        versions = fs.versions(path)
        for entry in versions:
            changes.setdefault(entry.layer, {})[path] = entry
        for entry in versions:
            if entry.removed_in is not None:
                # Overwritten in that layer: the new version (set above) wins.
                changes.setdefault(entry.removed_in, {}).setdefault(path, None)
    return changes


class Named(Protocol):
    """Anything a parser finds: a name and a version."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...


_PARSE_ERRORS = (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError)


def restamp(
    fs: Filesystem,
    entry: FileEntry,
    packages: list[Package],
    parse: Callable[[bytes], Iterable[Named]],
) -> list[Package]:
    """Per-package layers for a file that changed across layers.

    A lock file rewritten by a later ``npm install``, or a METADATA upgraded in place, would
    otherwise date every package to the file's first layer: each package gets the layer where
    its name@version first appeared in that file. Older versions that no longer parse count as
    holding nothing.
    """
    if len(fs.versions(entry.path)) <= 1:
        return packages

    def keys(data: bytes) -> set[tuple[str, str]]:
        try:
            return {(item.name, item.version) for item in parse(data)}
        except _PARSE_ERRORS:
            return set()

    layers = first_layers(fs, [entry.path], keys)
    return [
        replace(p, introduced_in=layers.get((p.name, p.version), p.introduced_in))
        for p in packages
    ]
