"""Packages the OS package manager installed are not reported twice.

Debian's python3-requests ships a ``*.egg-info``, its node-* packages ship ``package.json``
files, its Go tools are Go binaries: the language analyzers find all of them. As Trivy does,
a language package whose file an OS package owns is dropped; the OS package already stands
for it (and is what the distro's advisories are written against).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping

from portcullis.analyze.base import AnalysisResult
from portcullis.layers.view import Filesystem, SymlinkLoopError
from portcullis.model.package import Package

OS_TYPES = frozenset({"deb", "apk", "rpm"})


def _owned(fs: Filesystem, by_analyzer: Mapping[str, frozenset[str]],
           names: Collection[str] | None = None) -> set[str]:
    """The OS-owned paths, each also under its directory's real path. ``names``: only the
    paths with one of these base names (both forms of a path share its base name)."""
    owned: set[str] = set()
    real_dirs: dict[str, str | None] = {}
    for paths in by_analyzer.values():
        for path in paths if names is None else _named(paths, names):
            owned.add(path)
            # Merged /usr: the DB says /lib/x, the image stores /usr/lib/x behind a symlink.
            # Directories are few, files many: resolve each directory once.
            parent, name = posixpath.split(path)
            if parent not in real_dirs:
                try:
                    real_dirs[parent] = fs.resolve_path(parent)
                except SymlinkLoopError:
                    real_dirs[parent] = None
            real = real_dirs[parent]
            if real is not None and real != parent:
                owned.add(posixpath.join(real, name))
    return owned


def _named(paths: Iterable[str], names: Collection[str]) -> list[str]:
    # rpartition's tail is posixpath.split's: the name join() puts back
    return [path for path in paths if path.rpartition("/")[2] in names]


def _language_path(package: Package) -> str | None:
    if package.type in OS_TYPES or not package.locations:
        return None
    return package.locations[0].path


def drop_os_owned(fs: Filesystem, result: AnalysisResult) -> list[Package]:
    """Remove language packages found in OS-owned files; returns what was dropped.

    Only the owned paths named like a language package's file are resolved: a Debian image's
    DB owns ~9k files and its language packages name a few dozen."""
    wanted = {path for p in result.packages if (path := _language_path(p)) is not None}
    if not wanted:
        return []
    owned = _owned(fs, result.owned_paths, {posixpath.basename(path) for path in wanted})
    if not owned:
        return []
    kept: list[Package] = []
    dropped: list[Package] = []
    for package in result.packages:
        path = _language_path(package)
        if path is not None and path in owned:
            dropped.append(package)
        else:
            kept.append(package)
    result.packages[:] = kept
    return dropped
