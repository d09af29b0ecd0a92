"""Software found in an image."""

from __future__ import annotations

from typing import Any

import msgspec

from portcullis.model.files import Location


class Package(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: str
    type: str
    purl: str | None = None
    locations: tuple[Location, ...] = ()
    introduced_in: int | None = None
    found_by: str = ""
    source_name: str | None = None
    source_version: str | None = None
    licenses: tuple[str, ...] = ()
    properties: dict[str, str] = msgspec.field(default_factory=dict)
    # Read from a file that says what should be installed (a lock file, pinned requirements),
    # not from what an installer left behind. Set by the analyzer that parsed the file;
    # analyze/declared.py folds such entries into the installed package they describe.
    declared: bool = False

    def sort_key(self) -> tuple[str, str, str, str]:
        path = self.locations[0].path if self.locations else ""
        return (self.type, self.name, self.version, path)

    def to_dict(self) -> dict[str, Any]:
        loc = self.locations[0] if self.locations else None
        return {
            "name": self.name,
            "version": self.version,
            "type": self.type,
            "purl": self.purl,
            "source_name": self.source_name,
            "licenses": list(self.licenses),
            "path": loc.path if loc else None,
            "layer": self.introduced_in,
            "declared": self.declared,
        }
