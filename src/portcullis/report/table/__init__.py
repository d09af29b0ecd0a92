"""``--format table``: the writer's entry. The drawing (``render``, with rich) is imported only
when a table is written, so a scan that writes JSON or SARIF never loads rich."""

from __future__ import annotations

from typing import TextIO

from portcullis.model.report import Report
from portcullis.report.base import WriterSpec


def write_table(report: Report, out: TextIO, colour: bool = False) -> None:
    from portcullis.report.table.render import write_table as render

    render(report, out, colour)


WRITER = WriterSpec(name="table", description="human-readable summary", write=write_table)
