"""Packages the OS package manager installed are not reported twice.

Debian's python3-requests ships a ``*.egg-info``, its node-* packages ship ``package.json``
files, its Go tools are Go binaries: the language analyzers find all of them. As Trivy does,
a language package whose file an OS package owns is dropped; the OS package already stands
for it (and is what the distro's advisories are written against).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from portcullis.analyze.base import AnalysisResult
from portcullis.layers.view import Filesystem, SymlinkLoopError
from portcullis.model.package import Package

OS_TYPES = frozenset({"deb", "apk", "rpm"})


def _owned(fs: Filesystem, by_analyzer: Mapping[str, frozenset[str]]) -> set[str]:
    owned: set[str] = set()
    real_dirs: dict[str, str | None] = {}
    for paths in by_analyzer.values():
        for path in paths:
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


def drop_os_owned(fs: Filesystem, result: AnalysisResult) -> list[Package]:
    """Remove language packages found in OS-owned files; returns what was dropped."""
    owned = _owned(fs, result.owned_paths)
    if not owned:
        return []
    kept: list[Package] = []
    dropped: list[Package] = []
    for package in result.packages:
        path = package.locations[0].path if package.locations else None
        if package.type not in OS_TYPES and path is not None and path in owned:
            dropped.append(package)
        else:
            kept.append(package)
    result.packages[:] = kept
    return dropped
