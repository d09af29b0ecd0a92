"""Debian package versions (dpkg), as used by Debian and Ubuntu.

Hand-written: no maintained pure-Python library implements dpkg's ordering (``python-apt``
is a C binding only found on Debian hosts; ``univers`` pulls in a stack of dependencies for
a 40-line algorithm). This follows deb-version(7) and dpkg's ``verrevcmp``:
``[epoch:]upstream[-revision]``; the epoch compares as a number; upstream and revision
alternate non-digit and digit runs; in a non-digit run ``~`` sorts before everything, even
the end of the string, then the end, then letters, then all other characters; digit runs
compare as numbers. A missing revision equals ``0`` (``1.0`` == ``1.0-0``), as in dpkg.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import (
    InvalidVersion,
    SortKey,
    check_text,
    split_epoch_release,
)

ECOSYSTEMS = ("Debian", "Ubuntu")

_ALLOWED = re.compile(r"[A-Za-z0-9.+~:-]+")
_RUNS = re.compile(r"([^0-9]*)([0-9]*)")


def _char_order(c: str) -> int:
    # dpkg's order(): '~' is below the end of a run (0), letters keep their code, anything
    # else sorts after all letters.
    if c == "~":
        return -1
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _part_key(text: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Pairs (non-digit run, number) with the end marked the way dpkg pads: an empty run and 0.

    Each non-digit run is its character orders followed by 0, the value dpkg gives to the end
    of a run, so ``~`` (-1) sorts before the end and letters after it. Only the first pair
    can have an empty run, so the final ``((0,), 0)`` end marker never ties with a real pair
    that has something after it.
    """
    pairs: list[tuple[tuple[int, ...], int]] = []
    for letters, digits in _RUNS.findall(text):
        if not letters and not digits:
            continue
        pairs.append(((*(_char_order(c) for c in letters), 0), int(digits) if digits else 0))
    if not pairs:
        pairs.append(((0,), 0))
    pairs.append(((0,), 0))
    return tuple(pairs)


class DpkgScheme:
    name = "dpkg"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        if not _ALLOWED.fullmatch(version):
            raise InvalidVersion(self.name, version, "character outside [A-Za-z0-9.+~:-]")
        epoch, upstream, revision, dash = split_epoch_release(self.name, version)
        if dash and not revision:
            raise InvalidVersion(self.name, version, "empty revision")
        if not upstream:
            raise InvalidVersion(self.name, version, "empty upstream version")
        return (epoch, _part_key(upstream), _part_key(revision))


SCHEME = DpkgScheme()
