"""Python package versions (PEP 440), as used by PyPI.

Uses ``packaging`` (already a dependency; it is pip's own implementation): ``1.0.dev1 <
1.0a1 < 1.0rc1 < 1.0 < 1.0.post1``, ``1.0 == 1.0.0``, epochs ``1!0.1 > 2.0``, local versions
``1.0+local > 1.0``. Legacy non-PEP 440 versions are refused, as pip refuses them.
"""

from __future__ import annotations

from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version

from portcullis.vulndb.versions.base import InvalidVersion, SortKey, check_text

ECOSYSTEMS = ("PyPI",)


class Pep440Scheme:
    name = "pep440"

    def key(self, version: str) -> SortKey:
        check_text(self.name, version)
        try:
            return (Version(version),)
        except PackagingInvalidVersion as err:
            raise InvalidVersion(self.name, version, "not PEP 440") from err


SCHEME = Pep440Scheme()
