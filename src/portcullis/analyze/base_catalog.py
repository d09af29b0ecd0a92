"""The catalog of known base images: name, version, OS and the diff_id chain of each.

Two files make the catalog:

- the shipped one, ``portcullis/data/base-images.json``. It starts (nearly) empty on purpose:
  an entry is only worth anything with the real diff_ids of a real image, and none are made
  up here. The vulnerability DB update will ship entries for the common official images;
- the user's one, ``~/.cache/portcullis/base-images.json`` (``$XDG_CACHE_HOME`` is honoured;
  the environment variable ``PORTCULLIS_BASE_CATALOG`` names another file). ``portcullis
  base add IMAGE`` appends the image's diff_ids to it, so the images a team builds on are
  recognised in every later scan.

Both files hold ``{"schema": 1, "images": [{"name", "version", "os_name", "os_version",
"diff_ids": [...]}]}``. An image matches an entry when the entry's diff_ids are a prefix of
the image's diff_ids; the longest such entry wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from portcullis.atomic import write_atomic
from portcullis.errors import ConfigError
from portcullis.model.digest import Digest

CATALOG_ENV = "PORTCULLIS_BASE_CATALOG"
CATALOG_FILE = "base-images.json"
SCHEMA = 1


class CatalogEntry(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: str | None
    os_name: str | None
    os_version: str | None
    diff_ids: tuple[str, ...]

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> CatalogEntry:
        if not isinstance(doc, dict):
            raise ConfigError(f"{where}: catalog entry is not a JSON object")
        name = doc.get("name")
        diff_ids = doc.get("diff_ids")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: catalog entry without a name")
        if not isinstance(diff_ids, list) or not diff_ids:
            raise ConfigError(f"{where}: catalog entry {name!r} has no diff_ids")
        try:
            ids = tuple(str(Digest.parse(str(d))) for d in diff_ids)
        except (ConfigError, ValueError) as e:
            raise ConfigError(f"{where}: catalog entry {name!r}: {e}") from e
        return cls(name=name, version=_opt_str(doc.get("version")),
                   os_name=_opt_str(doc.get("os_name")),
                   os_version=_opt_str(doc.get("os_version")), diff_ids=ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "os_name": self.os_name,
            "os_version": self.os_version,
            "diff_ids": list(self.diff_ids),
        }


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def user_catalog_path() -> Path:
    """Where ``base add`` writes and scans read the user's entries."""
    override = os.environ.get(CATALOG_ENV)
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "portcullis" / CATALOG_FILE


def parse_catalog(data: bytes | str, where: str) -> list[CatalogEntry]:
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise ConfigError(f"{where}: not a JSON base image catalog: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("images", []), list):
        raise ConfigError(f"{where}: a base image catalog is an object with an 'images' list")
    return [CatalogEntry.from_dict(item, where) for item in doc.get("images", [])]


def load_file(path: Path) -> list[CatalogEntry]:
    """The entries of one catalog file; a missing file is an empty catalog."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise ConfigError(f"cannot read base image catalog {path}: {e.strerror}") from e
    return parse_catalog(data, str(path))


def shipped_entries() -> list[CatalogEntry]:
    resource = resources.files("portcullis").joinpath("data", CATALOG_FILE)
    try:
        data = resource.read_bytes()
    except FileNotFoundError:
        return []
    return parse_catalog(data, f"portcullis/data/{CATALOG_FILE}")


def load_catalog(user_path: Path | None = None) -> list[CatalogEntry]:
    """Shipped entries, then the user's (which win ties: ``best_match`` keeps the last)."""
    return [*shipped_entries(), *load_file(user_path or user_catalog_path())]


def best_match(entries: Iterable[CatalogEntry],
               diff_ids: Sequence[str]) -> CatalogEntry | None:
    """The entry with the longest diff_id chain that is a prefix of ``diff_ids``."""
    chain = tuple(d.strip().lower() for d in diff_ids)
    best: CatalogEntry | None = None
    for entry in entries:
        n = len(entry.diff_ids)
        if (n <= len(chain) and chain[:n] == entry.diff_ids
                and (best is None or n >= len(best.diff_ids))):
            best = entry
    return best


def add_entry(path: Path, entry: CatalogEntry) -> None:
    """Append ``entry`` to the catalog at ``path``, replacing one with the same name and
    version. The file is replaced atomically."""
    entries = [e for e in load_file(path)
               if (e.name, e.version) != (entry.name, entry.version)]
    entries.append(entry)
    doc = {"schema": SCHEMA, "images": [e.to_dict() for e in entries]}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(doc, indent=2) + "\n").encode("utf-8"),
                     prefix=".base-images-")
    except OSError as e:
        raise ConfigError(f"cannot write base image catalog {path}: {e.strerror or e}") from e
