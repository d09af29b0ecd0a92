"""RubyGems versions (``Gem::Version``), as used by the RubyGems ecosystem.

Hand-written: the reference is Ruby code inside RubyGems. A version is segments split on
dots, each a run of digits (a number) or of letters (a string: a pre-release marker, so
``1.0.a < 1.0``); a ``-`` reads as ``.pre.`` (``1.0-1`` is a pre-release); trailing zero
segments of the release part and of the pre-release part are dropped (``1.0 == 1``), and the
comparison pads the shorter version with zeros. A string segment sorts below any number;
strings compare byte-wise, numbers as numbers.
"""

from __future__ import annotations

import re

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text

ECOSYSTEMS = ("RubyGems",)

_VALID = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_SEGMENTS = re.compile(r"[0-9]+|[a-zA-Z]+")

_STRING, _END, _NUMBER = 0, 1, 2


def _canonical(segments: list[int | str]) -> list[int | str]:
    """Gem::Version#canonical_segments: release part and pre-release part each lose trailing 0s."""
    split = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    out: list[int | str] = []
    for part in (segments[:split], segments[split:]):
        end = len(part)
        while end and part[end - 1] == 0:
            end -= 1
        out.extend(part[:end])
    return out


def _padded_key(segments: list[int | str]) -> SortKey:
    """A tuple key equal to comparing with zero padding.

    Zero segments are folded into a count carried by the next non-zero segment: a number
    that shows up after fewer zeros beats the other version's zero there, a string that
    shows up after fewer zeros loses to it. The end is an endless run of zeros, so it sorts
    above every string and below every number.
    """
    key: list[tuple[int, int, int | str]] = []
    zeros = 0
    for seg in segments:
        if seg == 0:
            zeros += 1
        elif isinstance(seg, str):
            key.append((_STRING, zeros, seg))
            zeros = 0
        else:
            key.append((_NUMBER, -zeros, seg))
            zeros = 0
    key.append((_END, 0, 0))
    return tuple(key)


class RubyGemsScheme:
    name = "rubygems"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        if not _VALID.fullmatch(version):
            raise InvalidVersion(self.name, version, "not a Gem::Version")
        text = version.replace("-", ".pre.")
        segments: list[int | str] = [
            int(s) if s.isdigit() else s for s in _SEGMENTS.findall(text)
        ]
        return _padded_key(_canonical(segments))


SCHEME = RubyGemsScheme()
