"""Which layer brought a package: the start of its current unbroken run in the package DB.

Not merely the last layer that rewrote the DB file (every ``apt-get install`` rewrites it):
walk every version of the DB, bottom-up, and remember where each name@version appeared
after its last absence.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from typing import Protocol, TypeVar

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
    """
    # layer → set of keys present after that layer, per file, then union across files
    timeline: dict[int, dict[str, set[K]]] = {}
    per_path_versions = {path: fs.versions(path) for path in paths}
    layers = sorted({e.layer for versions in per_path_versions.values() for e in versions}
                    | {e.removed_in for versions in per_path_versions.values() for e in versions
                       if e.removed_in is not None})
    state: dict[str, set[K]] = {}
    for layer in layers:
        for path, versions in per_path_versions.items():
            for entry in versions:
                if entry.layer == layer:
                    data = fs.read_entry(entry)
                    state[path] = set(parse(data)) if data is not None else set()
                elif entry.removed_in == layer and not any(
                    v.layer == layer for v in versions
                ):
                    state.pop(path, None)
        timeline[layer] = {p: set(keys) for p, keys in state.items()}
    first: dict[K, int] = {}
    present: set[K] = set()
    for layer in layers:
        now: set[K] = set().union(*timeline[layer].values()) if timeline[layer] else set()
        for key in now - present:
            first[key] = layer
        for key in present - now:
            first.pop(key, None)
        present = now
    return {key: first[key] for key in present}


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
