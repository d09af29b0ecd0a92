"""Suppressions: findings a team has looked at and accepted, each with a reason and maybe an
expiry date. An expired suppression stops suppressing and is reported, so the acceptance is
looked at again instead of lasting for ever."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import msgspec

from portcullis.policy.rules import any_glob, finding_ids


class SuppressionRule(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    source: str  # "policy.yaml:12"
    ids: tuple[str, ...] = ()  # globs on the id or an alias
    packages: tuple[str, ...] = ()  # globs on the package name or purl
    paths: tuple[str, ...] = ()  # globs on the image path
    images: tuple[str, ...] = ()  # globs on the image reference or its tags
    kinds: tuple[str, ...] = ()
    fingerprints: tuple[str, ...] = ()
    expires: date | None = None

    def expired(self, today: date) -> bool:
        """Expiry is the last day it holds: it stops suppressing the day after."""
        return self.expires is not None and today > self.expires

    def matches(self, finding: Mapping[str, Any], image_names: list[str]) -> bool:
        if self.kinds and finding.get("kind") not in self.kinds:
            return False
        if self.fingerprints and finding.get("fingerprint") not in self.fingerprints:
            return False
        if self.ids and not any_glob(self.ids, finding_ids(finding)):
            return False
        packages = [str(v) for v in (finding.get("package_name"), finding.get("package")) if v]
        if self.packages and not any_glob(self.packages, packages):
            return False
        path = finding.get("path")
        if self.paths and not any_glob(self.paths, [path] if path else []):
            return False
        return not self.images or any_glob(self.images, image_names)

    def describe(self) -> str:
        """What it names, for the report: "id CVE-2023-1234, package openssl"."""
        parts = [f"{label} {', '.join(values)}" for label, values in (
            ("kind", self.kinds), ("id", self.ids), ("package", self.packages),
            ("path", self.paths), ("image", self.images), ("fingerprint", self.fingerprints),
        ) if values]
        return "; ".join(parts)
