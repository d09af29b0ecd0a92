"""Build a new database file from downloaded OSV exports and native distribution feeds.

The file is written from scratch (journal off: a failed build is simply deleted) and only
swapped in for the old one by the caller once it is complete. A record that appears in more
than one export (a GHSA affecting PyPI and npm is in both zips) is stored once: the copy with
the newest ``modified`` wins. A native feed (the Debian security tracker JSON, an Alpine secdb
file) is read into OSV-shaped records by its own module and stored the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from portcullis.errors import VulnDBError
from portcullis.progress import NullProgress, Progress
from portcullis.vulndb import alpine_secdb, debian_tracker
from portcullis.vulndb.enrich import Epss, Kev
from portcullis.vulndb.names import normalize_name, split_ecosystem
from portcullis.vulndb.nvd import Nvd
from portcullis.vulndb.osv import Record, Skip, iter_zip, open_zip
from portcullis.vulndb.store import INDEXES, SCHEMA, TABLES, ExtraMeta, Meta, SourceMeta

# Skips are all counted; this many are kept to be listed (the rest are "and N more").
MAX_LISTED_SKIPS = 200

_encode = msgspec.json.Encoder().encode


class Download(msgspec.Struct, frozen=True):
    """One fetched export, ready to be read."""

    ecosystem: str
    url: str
    path: Path
    fetched_at: str
    last_modified: str | None
    bytes: int
    kind: str = "osv"  # or a native feed: debian_tracker.SOURCE, alpine_secdb.SOURCE


# Native feeds: kind → reader of the whole file (each is one document, tens of MB at most).
FEED_READERS = {
    debian_tracker.SOURCE: debian_tracker.iter_records,
    alpine_secdb.SOURCE: alpine_secdb.iter_records,
}


class BuildResult(msgspec.Struct):
    meta: Meta
    skips: list[Skip] = msgspec.field(default_factory=list)  # the first MAX_LISTED_SKIPS


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object) -> str:
    return _encode(value).decode()


def _json_or_none(value: object | None) -> str | None:
    return None if value is None else _text(value)


class _Writer:
    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path)
        # A half-built file is thrown away, never repaired: no journal, no syncs.
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.executescript(TABLES)

    def add(self, record: Record, source: str) -> bool:
        """Store ``record``; False when a copy at least as new is already in."""
        row = self.db.execute("SELECT modified FROM vulnerabilities WHERE id = ?",
                              (record.id,)).fetchone()
        if row is not None:
            if row[0] >= record.modified:
                return False
            for table, column in (("affected", "vuln_id"), ("aliases", "vuln_id"),
                                  ("vulnerabilities", "id")):
                self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (record.id,))
        self.db.execute(
            "INSERT INTO vulnerabilities VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.id, record.modified, record.published, record.withdrawn, record.summary,
             record.details, _text(record.severity), _text(record.aliases),
             _text(record.related), _text(record.upstream),
             _json_or_none(record.database_specific), source))
        self.db.executemany("INSERT INTO affected VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            _affected_rows(record))
        aliases = {a for a in (*record.aliases, *record.upstream) if a and a != record.id}
        self.db.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?)",
                            [(alias, record.id) for alias in sorted(aliases)])
        return True

    def count(self, sql: str) -> int:
        return int(self.db.execute(sql).fetchone()[0])

    def add_exploits(self, kev: Kev | None, epss: Epss | None,
                     nvd: Sequence[Nvd] = ()) -> None:
        if kev is not None:
            self.db.executemany("INSERT INTO kev VALUES (?, ?, ?)",
                                [(r.cve, r.date_added, r.ransomware) for r in kev.rows])
        if epss is not None:
            self.db.executemany("INSERT INTO epss VALUES (?, ?, ?)",
                                [(r.cve, r.score, r.percentile) for r in epss.rows])
        for loaded in nvd:  # a later file wins for a CVE two files give
            self.db.executemany("INSERT OR REPLACE INTO nvd VALUES (?, ?, ?)",
                                [(r.cve, r.type, r.vector) for r in loaded.rows])
        self.db.commit()

    def finish(self, sources: list[SourceMeta], skipped: int, kev: Kev | None = None,
               epss: Epss | None = None, nvd: Sequence[Nvd] = ()) -> Meta:
        self.db.executescript(INDEXES)
        meta = Meta(
            schema=SCHEMA,
            built_at=now_utc(),
            vulnerabilities=self.count("SELECT count(*) FROM vulnerabilities"),
            affected=self.count("SELECT count(*) FROM affected"),
            withdrawn=self.count(
                "SELECT count(*) FROM vulnerabilities WHERE withdrawn IS NOT NULL"),
            skipped=skipped,
            sources=sources,
            kev=_extra(kev),
            epss=_extra(epss),
            nvd=[e for e in map(_extra, nvd) if e is not None],
        )
        self.db.executemany("INSERT INTO meta VALUES (?, ?)",
                            [("schema", str(SCHEMA)), ("summary", _text(meta))])
        self.db.commit()
        self.db.execute("ANALYZE")
        self.db.commit()
        return meta

    def close(self) -> None:
        self.db.close()


def _extra(loaded: Kev | Epss | Nvd | None) -> ExtraMeta | None:
    if loaded is None:
        return None
    return ExtraMeta(url=loaded.url, fetched_at=loaded.fetched_at, version=loaded.version,
                     records=len(loaded.rows))


def _affected_rows(record: Record) -> list[tuple[str | None, ...]]:
    rows: list[tuple[str | None, ...]] = []
    for affected in record.affected:
        package = affected.package
        if package is None or not package.ecosystem or not package.name:
            continue  # a GIT-only entry names no package a scan could look up
        base, release = split_ecosystem(package.ecosystem)
        rows.append((
            record.id, base, release, normalize_name(base, package.name), package.name,
            package.purl, _text(affected.ranges), _text(affected.versions),
            _text(affected.severity), _json_or_none(affected.ecosystem_specific),
            _json_or_none(affected.database_specific)))
    return rows


def build(target: Path, downloads: Sequence[Download],
          progress: Progress | None = None, *, kev: Kev | None = None,
          epss: Epss | None = None, nvd: Sequence[Nvd] = ()) -> BuildResult:
    """Write a complete database at ``target`` (replaced if present) from ``downloads``.
    Raises ``VulnDBError`` on an unreadable export; ``target`` is then left for the caller to
    delete."""
    progress = progress or NullProgress()
    writer = _Writer(target)
    try:
        skips: list[Skip] = []
        skipped = 0
        sources: list[SourceMeta] = []
        for download in downloads:
            meta, source_skips = _ingest(writer, download, progress)
            sources.append(meta)
            skipped += meta.skipped
            skips.extend(source_skips[: MAX_LISTED_SKIPS - len(skips)])
        writer.add_exploits(kev, epss, nvd)
        return BuildResult(writer.finish(sources, skipped, kev, epss, nvd), skips)
    finally:
        writer.close()


def _items(download: Download, progress: Progress) -> Iterator[tuple[Record | Skip, int]]:
    key = f"index {download.ecosystem}"
    if download.kind != "osv":
        reader = FEED_READERS[download.kind]
        try:
            data = download.path.read_bytes()
        except OSError as e:
            raise VulnDBError(f"{download.ecosystem}: {e.strerror or e}") from e
        progress.start(key, f"indexing {download.ecosystem}", 1)
        try:
            yield from ((item, 0) for item in reader(data, download.ecosystem,
                                                      download.fetched_at))
            progress.advance(key, 1)
        finally:
            progress.finish(key)
        return
    with open_zip(download.path, download.ecosystem) as archive:
        total = sum(i.file_size for i in archive.infolist())
        progress.start(key, f"indexing {download.ecosystem}", total)
        try:
            for item, size in iter_zip(archive, download.ecosystem):
                progress.advance(key, size)
                yield item, size
        finally:
            progress.finish(key)


def _ingest(writer: _Writer, download: Download,
            progress: Progress) -> tuple[SourceMeta, list[Skip]]:
    records = withdrawn = 0
    skips: list[Skip] = []
    skipped = 0
    for item, _ in _items(download, progress):
        if isinstance(item, Skip):
            skipped += 1
            if len(skips) < MAX_LISTED_SKIPS:
                skips.append(item)
            continue
        records += 1
        withdrawn += item.withdrawn is not None
        writer.add(item, download.ecosystem if download.kind == "osv" else download.kind)
    writer.db.commit()
    meta = SourceMeta(ecosystem=download.ecosystem, url=download.url,
                      fetched_at=download.fetched_at, last_modified=download.last_modified,
                      bytes=download.bytes, records=records, skipped=skipped,
                      withdrawn=withdrawn)
    return meta, skips
