"""The operating system an image is built on."""

from __future__ import annotations

from typing import Any

import msgspec


class Distro(msgspec.Struct, frozen=True, kw_only=True):
    family: str
    name: str
    version: str | None = None
    version_codename: str | None = None
    id_like: tuple[str, ...] = ()
    pretty_name: str | None = None
    eol: bool | None = None
    source_path: str | None = None
    layer: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "name": self.name,
            "version": self.version,
            "codename": self.version_codename,
            "pretty_name": self.pretty_name,
            "eol": self.eol,
        }
