"""Findings: one flat list with a ``kind`` discriminator."""

from __future__ import annotations

import hashlib
import json
from enum import IntEnum
from typing import Any

import msgspec

KINDS = ("vulnerability", "malware", "secret", "sensitive-file", "baseline", "compliance", "file")

# The scan item (``--scanners`` name) that produces each kind: reports group findings by it.
SCANNER_OF_KIND = {"vulnerability": "vuln", "malware": "malware", "secret": "secret",
                   "sensitive-file": "secret", "baseline": "baseline",
                   "compliance": "compliance", "file": "files"}


class Severity(IntEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError as e:
            names = ", ".join(s.name for s in cls)
            raise ValueError(f"unknown severity {text!r} (one of {names})") from e


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    id: str
    severity: Severity
    title: str
    path: str | None = None
    line: int | None = None
    layer: int | None = None
    visible: bool = True
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable across runs: a hash of what the finding is and where, not when."""
        parts: list[object] = [self.kind, self.id, self.path, self.line,
                               self.extra.get("package")]
        if self.extra.get("location"):
            # Not in a file (a secret in the image config): where in the config it is.
            parts.append(self.extra["location"])
        if not self.visible:
            # Versions hidden by later layers can share a path: the layer tells them apart.
            parts.append(self.layer)
        key = json.dumps(parts, sort_keys=True)
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    def sort_key(self) -> tuple[Any, ...]:
        return (-int(self.severity), self.kind, self.id, self.path or "", self.line or 0)

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "kind": self.kind,
            "id": self.id,
            "fingerprint": self.fingerprint,
            "severity": self.severity.name,
            "title": self.title,
            "path": self.path,
            "line": self.line,
            "layer": self.layer,
            "visible": self.visible,
        }
        doc.update(self.extra)
        return doc


class Warning(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    path: str | None = None
    layer: int | None = None
    analyzer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "layer": self.layer, "analyzer": self.analyzer,
                "message": self.message}
