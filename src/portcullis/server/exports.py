"""A stored scan written again in any report format the CLI knows (report/base.py discovers
them): the stored JSON is rebuilt into a Report (model/report_json.py) and the format's own
writer prints it, so a console export is what ``scan --format`` would write, less the few
details the JSON report does not carry (docs/console.md)."""

from __future__ import annotations

import io
from typing import Any

import msgspec

from portcullis.model.report_json import read_report
from portcullis.report.base import writers

# Registered media types where one exists; the rest by the file's extension.
_MEDIA_BY_NAME = {"sarif": "application/sarif+json",
                  "cyclonedx": "application/vnd.cyclonedx+json; version=1.6",
                  "spdx-json": "application/spdx+json"}
_MEDIA_BY_EXTENSION = {"json": "application/json", "html": "text/html; charset=utf-8",
                       "xml": "application/xml", "txt": "text/plain; charset=utf-8"}


class Export(msgspec.Struct, frozen=True, kw_only=True):
    body: bytes
    media_type: str
    filename: str


def formats() -> tuple[str, ...]:
    """The format names an export accepts, as ``--format`` spells them."""
    return tuple(writers())


def export(doc: dict[str, Any], fmt: str, stem: str) -> Export | None:
    """``doc`` (a stored JSON report) in format ``fmt``; None for an unknown format. A
    document that cannot be rebuilt raises DocumentError."""
    spec = writers().get(fmt)
    if spec is None:
        return None
    out = io.StringIO()
    spec.write(read_report(doc, "the stored report"), out, False)
    media = _MEDIA_BY_NAME.get(fmt) or _MEDIA_BY_EXTENSION.get(
        spec.extension.rsplit(".", 1)[-1], "application/octet-stream")
    return Export(body=out.getvalue().encode("utf-8"), media_type=media,
                  filename=f"{stem}.{spec.extension}")
