"""``--format json``: the contract report (CONTRACT.md §5)."""

from __future__ import annotations

import json
from typing import TextIO

from portcullis.model.report import Report
from portcullis.report.base import WriterSpec


def write_json(report: Report, out: TextIO, colour: bool = False) -> None:
    json.dump(report.to_dict(), out, indent=2, sort_keys=False, ensure_ascii=False)
    out.write("\n")


WRITER = WriterSpec(name="json", description="Portcullis JSON report", write=write_json,
                    extension="json")
