"""The vulnerability database: one SQLite file, its schema, and the read API the matcher uses.

Tables:

- ``vulnerabilities``: one row per OSV record (withdrawn ones too, flagged: the matcher
  excludes them, ``db info`` counts them).
- ``affected``: one row per affected package entry, keyed by (ecosystem, normalised name,
  release). The release suffix of an OS ecosystem (``Debian:12`` → ``12``, ``Ubuntu:22.04:LTS``
  → ``22.04:LTS``) is its own column, so a lookup for Debian 12 never returns Debian 11 rows.
  Ranges, versions and the ecosystem/database-specific objects are kept as OSV JSON: the range
  evaluation needs them whole.
- ``aliases``: alias → record id (CVE, GHSA, PYSEC, DSA, USN, ... and OSV ``upstream`` ids).
- ``kev``, ``epss``: exploit data keyed by CVE (CISA KEV, FIRST EPSS), empty unless
  ``db update --kev/--epss`` loaded them. A database built before they existed has no such
  tables and reads as if they were empty.
- ``nvd``: one CVSS vector per CVE from NVD's CVE JSON 2.0 (``db update --nvd``), used when
  the matched records carry none; absent in older databases, read as empty like ``kev``.
- ``meta``: schema number, build time, and each source's URL, timestamps and counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from portcullis.errors import VulnDBError
from portcullis.vulndb.names import normalize_name, split_ecosystem
from portcullis.vulndb.osv import Range, Severity

SCHEMA = 1

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE vulnerabilities (
    id TEXT PRIMARY KEY,
    modified TEXT NOT NULL,
    published TEXT,
    withdrawn TEXT,
    summary TEXT NOT NULL,
    details TEXT NOT NULL,
    severity TEXT NOT NULL,
    aliases TEXT NOT NULL,
    related TEXT NOT NULL,
    upstream TEXT NOT NULL,
    database_specific TEXT,
    source TEXT NOT NULL
);
CREATE TABLE affected (
    vuln_id TEXT NOT NULL,
    ecosystem TEXT NOT NULL,
    release TEXT NOT NULL,
    name TEXT NOT NULL,
    package_name TEXT NOT NULL,
    purl TEXT,
    ranges TEXT NOT NULL,
    versions TEXT NOT NULL,
    severity TEXT NOT NULL,
    ecosystem_specific TEXT,
    database_specific TEXT
);
CREATE INDEX affected_by_vuln ON affected (vuln_id);
CREATE TABLE aliases (alias TEXT NOT NULL, vuln_id TEXT NOT NULL,
                      PRIMARY KEY (alias, vuln_id)) WITHOUT ROWID;
CREATE TABLE kev (cve TEXT PRIMARY KEY, date_added TEXT NOT NULL,
                  ransomware TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE epss (cve TEXT PRIMARY KEY, score REAL NOT NULL,
                   percentile REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE nvd (cve TEXT PRIMARY KEY, type TEXT NOT NULL, vector TEXT NOT NULL) WITHOUT ROWID;
"""

# Created once the rows are in: building the index at the end is several times faster.
INDEXES = """
CREATE INDEX affected_by_package ON affected (ecosystem, name, release);
"""


class AffectedRow(msgspec.Struct, frozen=True):
    """One affected package entry of one record, as the matcher needs it."""

    vuln_id: str
    ecosystem: str  # as the record wrote it: "Debian:12", "PyPI"
    base_ecosystem: str  # "Debian", "PyPI"
    release: str  # "12", "22.04:LTS", "" for ecosystems without releases
    package_name: str  # as the record wrote it
    name: str  # normalised (names.normalize_name)
    purl: str | None
    ranges: tuple[Range, ...]
    versions: tuple[str, ...]
    severity: tuple[Severity, ...]
    ecosystem_specific: dict[str, Any] | None
    database_specific: dict[str, Any] | None
    withdrawn: bool


class Vulnerability(msgspec.Struct, frozen=True):
    id: str
    modified: str
    published: str | None
    withdrawn: str | None
    summary: str
    details: str
    severity: tuple[Severity, ...]
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    upstream: tuple[str, ...]
    database_specific: dict[str, Any] | None
    source: str


class SourceMeta(msgspec.Struct, frozen=True):
    """What one downloaded export contributed."""

    ecosystem: str
    url: str
    fetched_at: str
    last_modified: str | None
    bytes: int
    records: int
    skipped: int
    withdrawn: int


class ExtraMeta(msgspec.Struct, frozen=True):
    """Where the KEV or EPSS rows came from."""

    url: str
    fetched_at: str
    version: str  # KEV catalogVersion; EPSS score date and model
    records: int


class Meta(msgspec.Struct, frozen=True):
    schema: int
    built_at: str
    vulnerabilities: int
    affected: int
    withdrawn: int
    skipped: int
    sources: list[SourceMeta]
    kev: ExtraMeta | None = None
    epss: ExtraMeta | None = None
    nvd: list[ExtraMeta] = []  # one per NVD file loaded


_ranges = msgspec.json.Decoder(list[Range])
_severities = msgspec.json.Decoder(list[Severity])
_strings = msgspec.json.Decoder(list[str])
_meta = msgspec.json.Decoder(Meta)
_any = msgspec.json.Decoder()


def _obj(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    value = _any.decode(text)
    return value if isinstance(value, dict) else None


def check_database(path: Path) -> Meta:
    """The metadata of the database at ``path``, after checking it is one this version reads
    (``VulnDBError`` otherwise)."""
    with VulnStore(path) as store:
        return store.meta()


def swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` in one rename: readers see the old file or the new one,
    never a mix (both must be on the same file system: ``new`` is built beside ``target``)."""
    with new.open("rb") as f:
        os.fsync(f.fileno())
    new.replace(target)  # os.replace: atomic on POSIX
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)  # the rename itself survives a crash
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(db_path: Path) -> Iterator[None]:
    """Held by one update or import of ``db_path`` at a time (two would mix their files). The
    lock file stays: removing it would let a third process lock a new one."""
    with db_path.with_name(f".{db_path.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise VulnDBError(f"another update or import of {db_path} is running") from e
        yield


class VulnStore:
    """Read access to a built database. Opening checks it exists and has our schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, Vulnerability | None] = {}
        self._kev: dict[str, bool] = {}
        self._epss: dict[str, tuple[float, float] | None] = {}
        self._nvd: dict[str, tuple[str, str] | None] = {}
        self._extra_tables: frozenset[str] = frozenset()
        if not path.is_file():
            raise VulnDBError(
                f"no vulnerability database at {path}: run `portcullis db update` first")
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as e:
            raise VulnDBError(f"cannot open the vulnerability database {path} ({e})") from e
        try:
            self._meta = self._read_meta()
            self._extra_tables = frozenset(r[0] for r in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name IN ('kev', 'epss', 'nvd')"))
        except sqlite3.Error as e:
            self._db.close()
            raise VulnDBError(f"{path} is not a Portcullis vulnerability database ({e})") from e
        except VulnDBError:
            self._db.close()
            raise

    def __enter__(self) -> VulnStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _read_meta(self) -> Meta:
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        schema = rows.get("schema")
        if schema != str(SCHEMA):
            raise VulnDBError(f"{self.path} has database schema {schema or 'none'}, this version "
                              f"reads {SCHEMA}: run `portcullis db update`")
        try:
            return _meta.decode(rows["summary"])
        except (KeyError, msgspec.DecodeError) as e:
            raise VulnDBError(f"{self.path}: metadata unreadable ({e})") from e

    def meta(self) -> Meta:
        return self._meta

    def affected_for(self, ecosystem_prefix: str, name: str) -> list[AffectedRow]:
        """Affected entries for package ``name`` in ``ecosystem_prefix``.

        ``PyPI`` or ``Debian`` (no release) returns the entries of every release;
        ``Debian:12`` returns those of release ``12`` and its sub-releases (``Ubuntu:22.04``
        finds ``Ubuntu:22.04:LTS``), plus entries whose record names no release at all.
        Withdrawn records are included and flagged: excluding them is the matcher's call.
        """
        base, release = split_ecosystem(ecosystem_prefix)
        key = normalize_name(base, name)
        sql = ("SELECT a.*, v.withdrawn FROM affected a JOIN vulnerabilities v ON v.id = a.vuln_id"
               " WHERE a.ecosystem = ? AND a.name = ?")
        args: list[str] = [base, key]
        if release:
            sql += " AND (a.release = ? OR a.release = '' OR substr(a.release, 1, ?) = ?)"
            args += [release, str(len(release) + 1), release + ":"]
        sql += " ORDER BY a.vuln_id, a.rowid"
        try:
            return [self._affected(row) for row in self._db.execute(sql, args)]
        except (sqlite3.Error, msgspec.DecodeError) as e:
            raise self._corrupt(e) from e

    def _corrupt(self, error: Exception) -> VulnDBError:
        return VulnDBError(f"{self.path}: damaged vulnerability database ({error}): "
                           "run `portcullis db update`")

    def _affected(self, row: tuple[Any, ...]) -> AffectedRow:
        (vuln_id, base, release, name, package_name, purl, ranges, versions, severity,
         eco_specific, db_specific, withdrawn) = row
        return AffectedRow(
            vuln_id=vuln_id,
            ecosystem=f"{base}:{release}" if release else base,
            base_ecosystem=base,
            release=release,
            package_name=package_name,
            name=name,
            purl=purl,
            ranges=tuple(_ranges.decode(ranges)),
            versions=tuple(_strings.decode(versions)),
            severity=tuple(_severities.decode(severity)),
            ecosystem_specific=_obj(eco_specific),
            database_specific=_obj(db_specific),
            withdrawn=withdrawn is not None,
        )

    def vulnerability(self, vuln_id: str) -> Vulnerability | None:
        # Remembered for the store's life (one scan): a record that affects several packages
        # (a Debian source package's binaries, a USN) is read and decoded once.
        if vuln_id in self._records:
            return self._records[vuln_id]
        try:
            record = self._vulnerability(vuln_id)
        except (sqlite3.Error, msgspec.DecodeError) as e:
            raise self._corrupt(e) from e
        self._records[vuln_id] = record
        return record

    def _vulnerability(self, vuln_id: str) -> Vulnerability | None:
        row = self._db.execute(
            "SELECT id, modified, published, withdrawn, summary, details, severity, aliases,"
            " related, upstream, database_specific, source FROM vulnerabilities WHERE id = ?",
            (vuln_id,)).fetchone()
        if row is None:
            return None
        return Vulnerability(
            id=row[0], modified=row[1], published=row[2], withdrawn=row[3], summary=row[4],
            details=row[5], severity=tuple(_severities.decode(row[6])),
            aliases=tuple(_strings.decode(row[7])), related=tuple(_strings.decode(row[8])),
            upstream=tuple(_strings.decode(row[9])), database_specific=_obj(row[10]),
            source=row[11])

    def exploited(self, cve: str) -> bool:
        """In CISA's Known Exploited Vulnerabilities catalog (as loaded by ``db update``)."""
        if cve not in self._kev:
            self._kev[cve] = self._one("kev", "SELECT 1 FROM kev WHERE cve = ?", cve) is not None
        return self._kev[cve]

    def epss(self, cve: str) -> tuple[float, float] | None:
        """(score, percentile) from FIRST EPSS, or None when not loaded or not scored."""
        if cve not in self._epss:
            row = self._one("epss", "SELECT score, percentile FROM epss WHERE cve = ?", cve)
            self._epss[cve] = (float(row[0]), float(row[1])) if row else None
        return self._epss[cve]

    def nvd_cvss(self, cve: str) -> tuple[str, str] | None:
        """(OSV severity type, vector) NVD gives ``cve``, or None when not loaded or absent."""
        if not self._meta.nvd:
            return None  # none loaded: no query per finding
        if cve not in self._nvd:
            row = self._one("nvd", "SELECT type, vector FROM nvd WHERE cve = ?", cve)
            self._nvd[cve] = (str(row[0]), str(row[1])) if row else None
        return self._nvd[cve]

    def _one(self, table: str, sql: str, key: str) -> tuple[Any, ...] | None:
        if table not in self._extra_tables:
            return None
        try:
            row: tuple[Any, ...] | None = self._db.execute(sql, (key,)).fetchone()
        except sqlite3.Error as e:
            raise self._corrupt(e) from e
        return row

    def ids_for_alias(self, alias: str) -> list[str]:
        """Record ids that list ``alias`` (a CVE, GHSA, ...) among their aliases."""
        try:
            rows = self._db.execute(
                "SELECT vuln_id FROM aliases WHERE alias = ? ORDER BY vuln_id", (alias,))
            return [r[0] for r in rows]
        except sqlite3.Error as e:
            raise self._corrupt(e) from e
