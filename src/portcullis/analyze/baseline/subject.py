"""What the checks look at: the squashed view, the image config and its history lines, and
the account tables (parsed once, on first use)."""

from __future__ import annotations

from functools import cached_property

import msgspec

from portcullis.analyze.base import AnalysisContext
from portcullis.analyze.baseline.checks import Hit
from portcullis.analyze.baseline.etc_files import Table, read_table
from portcullis.analyze.baseline.history import Step, steps
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileEntry
from portcullis.model.finding import Warning


class Subject(msgspec.Struct, dict=True):  # dict: room for the cached_property values
    fs: Filesystem
    ctx: AnalysisContext
    base_last_layer: int | None = None
    warnings: list[Warning] = msgspec.field(default_factory=list)

    @cached_property
    def steps(self) -> list[Step]:
        return steps(self.ctx.image, self.base_last_layer)

    @cached_property
    def passwd(self) -> Table | None:
        return read_table(self.fs, "/etc/passwd")

    @cached_property
    def shadow(self) -> Table | None:
        return read_table(self.fs, "/etc/shadow")

    @cached_property
    def group(self) -> Table | None:
        return read_table(self.fs, "/etc/group")

    def step_of_layer(self, layer: int) -> Step | None:
        return next((s for s in self.steps if s.layer == layer), None)

    def inherited(self, layer: int) -> bool | None:
        last = self.base_last_layer
        return None if last is None else layer <= last

    def file_hit(self, entry: FileEntry, *, line: int | None = None, detail: str | None = None,
                 account: str | None = None, visible: bool = True) -> Hit:
        """A hit in a file: the layer that wrote this version, and that layer's history line."""
        return Hit(detail=detail, path=entry.path, line=line, layer=entry.layer,
                   step=self.step_of_layer(entry.layer), inherited=self.inherited(entry.layer),
                   account=account, visible=visible)
