"""A vulnerability's severity, in the order users trust the sources.

1. The distribution's own rating (an OSV severity of type ``Ubuntu`` or ``Debian``): it
   judges the flaw in the package as that distribution builds it.
2. CVSS v4, then v3.x, then v2 base scores, computed from the vector by the ``cvss`` library
   (never by hand), banded as NVD does (9.0 critical, 7.0 high, 4.0 medium, 0.1 low).
3. The advisory's own label (GitHub's ``database_specific.severity``: MODERATE is MEDIUM).
4. UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from portcullis.model.finding import Severity

_DISTRO_TYPES = ("Ubuntu", "Debian")
_CVSS = {"CVSS_V4": CVSS4, "CVSS_V3": CVSS3, "CVSS_V2": CVSS2}
_LABELS = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "important": Severity.HIGH,
           "moderate": Severity.MEDIUM, "medium": Severity.MEDIUM, "low": Severity.LOW,
           "negligible": Severity.LOW, "unimportant": Severity.LOW}


class OsvSeverity(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def score(self) -> str: ...


class Rating(msgspec.Struct, frozen=True):
    severity: Severity
    source: str  # "distro", "cvss", "advisory", "none"
    cvss: dict[str, Any] | None = None  # {"score": 9.8, "vector": "CVSS:3.1/..."}

    def rank(self) -> tuple[int, float]:
        score = float((self.cvss or {}).get("score") or 0.0)
        return (int(self.severity), score)


def band(score: float) -> Severity:
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    if score > 0.0:
        return Severity.LOW
    return Severity.UNKNOWN


def _cvss(severities: Sequence[OsvSeverity]) -> dict[str, Any] | None:
    for kind, parser in _CVSS.items():  # newest standard first
        for item in severities:
            if item.type != kind:
                continue
            try:
                score = float(parser(item.score).base_score)
            except (CVSSError, ValueError, TypeError, KeyError, IndexError):
                continue  # a malformed vector says nothing; try the next one
            return {"score": score, "vector": item.score}
    return None


def rate(severities: Sequence[OsvSeverity], label: str | None,
         distro_label: str | None = None) -> Rating:
    """``label``: the advisory's own word; ``distro_label``: the distribution's priority when
    the record carries it outside ``severity`` (Ubuntu's ``ubuntu_priority``)."""
    cvss = _cvss(severities)
    if distro_label and distro_label.strip().lower() in _LABELS:
        return Rating(_LABELS[distro_label.strip().lower()], "distro", cvss)
    for item in severities:
        if item.type in _DISTRO_TYPES and item.score.strip().lower() in _LABELS:
            return Rating(_LABELS[item.score.strip().lower()], "distro", cvss)
    if cvss is not None:
        return Rating(band(cvss["score"]), "cvss", cvss)
    if label and label.strip().lower() in _LABELS:
        return Rating(_LABELS[label.strip().lower()], "advisory")
    return Rating(Severity.UNKNOWN, "none")
