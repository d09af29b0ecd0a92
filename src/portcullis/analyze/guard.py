"""One file at a time: a tree analyzer's work on one package file cannot sink the others.

Package files are hostile input. Whatever goes wrong while one of them is handled (a JSON
document nested 100,000 deep, bytes that are not what the name promises, a bug of ours) becomes
one warning naming that file, its layer and the analyzer, and the analyzer goes on with the
next file. What the failed file produced so far is dropped, never half kept: the body works on
its own ``AnalysisResult``, merged into the analyzer's result only when it ends normally.

    for entry in files:
        with one_file(result, entry, self.spec.name, "npm package file") as found:
            found.packages.extend(...)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from portcullis.analyze.base import AnalysisResult
from portcullis.model.files import FileEntry
from portcullis.model.finding import Warning

log = logging.getLogger(__name__)

_MAX_REASON = 300  # an exception message may quote the hostile input at length


def failure_reason(error: BaseException) -> str:
    """A one-line reason for the report: the exception type and the start of its message."""
    if isinstance(error, RecursionError):
        return "nested too deeply to parse"
    text = " ".join(str(error).split())
    if len(text) > _MAX_REASON:
        text = text[:_MAX_REASON] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextmanager
def one_file(result: AnalysisResult, entry: FileEntry, analyzer: str,
             what: str = "file") -> Iterator[AnalysisResult]:
    """The body's findings for ``entry``, merged into ``result`` when it ends normally; any
    exception instead becomes a located warning (warnings the body made are kept)."""
    found = AnalysisResult()
    try:
        yield found
    except Exception as e:  # RecursionError and MemoryError included: one file, one warning
        log.debug("analyzer %s failed on %s", analyzer, entry.path, exc_info=True)
        result.warnings.extend(found.warnings)
        result.warnings.append(Warning(
            message=f"cannot analyze {what}: {failure_reason(e)}", path=entry.path,
            layer=entry.layer, analyzer=analyzer))
    else:
        result.merge(found)
