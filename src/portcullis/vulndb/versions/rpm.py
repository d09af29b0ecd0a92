"""RPM versions (``rpmvercmp``), as used by Red Hat, AlmaLinux, Rocky, SUSE, openSUSE, Mageia,
openEuler, Photon OS and Azure Linux (Mariner).

Hand-written: the only exact implementation is librpm's C code (Python bindings come with the
``rpm`` system package, not from PyPI). ``[epoch:]version[-release]``; the epoch compares as a
number (missing = 0); version and release are split into maximal runs of ASCII digits or
letters, everything else only separates (``1.0`` == ``1_0``). A digit run beats a letter run,
digit runs compare as numbers, letter runs byte-wise. ``~`` sorts before anything, even the
end (``1.0~rc1 < 1.0``); ``^`` sorts after the end but before anything else
(``1.0 < 1.0^git1 < 1.0.1``). A missing release sorts before any release.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import (
    InvalidVersion,
    SortKey,
    check_text,
    split_epoch_release,
)

ECOSYSTEMS = (
    "Red Hat", "AlmaLinux", "Rocky Linux", "SUSE", "openSUSE", "Mageia", "openEuler",
    "Photon OS", "Azure Linux", "Mariner",
)

# Ranks at one position: tilde < end < caret < letters < digits. The value is only compared
# between tokens of the same rank, so it is always of one type there.
_TILDE, _END, _CARET, _ALPHA, _DIGIT = range(5)
_TOKENS = re.compile(r"[0-9]+|[A-Za-z]+|~|\^")


def _tokens(text: str) -> tuple[tuple[int, int | str], ...]:
    out: list[tuple[int, int | str]] = []
    for tok in _TOKENS.findall(text):
        if tok == "~":
            out.append((_TILDE, 0))
        elif tok == "^":
            out.append((_CARET, 0))
        elif tok.isdigit():
            out.append((_DIGIT, int(tok)))
        else:
            out.append((_ALPHA, tok))
    out.append((_END, 0))
    return tuple(out)


class RpmScheme:
    name = "rpm"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        epoch, upstream, release, _ = split_epoch_release(self.name, version)
        if not upstream:
            raise InvalidVersion(self.name, version, "empty version")
        return (epoch, _tokens(upstream), _tokens(release))


SCHEME = RpmScheme()
