"""The writer protocol and discovery of output formats."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from typing import TextIO

import msgspec

from portcullis import report as _package
from portcullis.model.report import Report


class WriterSpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # the --format value, stable kebab-case
    description: str
    write: Callable[[Report, TextIO, bool], None]  # (report, out, colour)
    extension: str = "txt"


@cache
def writers() -> dict[str, WriterSpec]:
    found: dict[str, WriterSpec] = {}
    for info in pkgutil.iter_modules(_package.__path__, _package.__name__ + "."):
        if info.name.endswith(".base"):
            continue
        spec = getattr(importlib.import_module(info.name), "WRITER", None)
        if isinstance(spec, WriterSpec):
            found[spec.name] = spec
    return dict(sorted(found.items()))
