"""``db update``: fetch every ecosystem's OSV export, build a new database beside the old one,
and swap it in with one rename.

Until the rename nothing the scans read has changed: a failed download, a corrupt zip or an
interrupted build leaves the old database in place (the error says so). Downloads go to a
work directory beside the database and are kept on failure, so the next run resumes them.
A source that is a directory (or a ``file://`` URL) in the export layout is read in place.
Native distribution feeds (the Debian security tracker JSON, Alpine secdb files) are fetched
the same way, each from a URL or a local file, and built beside the OSV records.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

import httpx
import msgspec
from msgspec.structs import replace

from portcullis.errors import PortcullisError, VulnDBError
from portcullis.progress import NullProgress, Progress
from portcullis.vulndb import alpine_secdb, debian_tracker
from portcullis.vulndb.build import BuildResult, Download, build, now_utc
from portcullis.vulndb.enrich import MAX_EPSS_BYTES, MAX_KEV_BYTES, parse_epss, parse_kev
from portcullis.vulndb.eol import MAX_EOL_BYTES, parse_eol, write_eol
from portcullis.vulndb.exports import DEFAULT_ECOSYSTEMS, DEFAULT_SOURCE
from portcullis.vulndb.fetch import Fetched, Retry, fetch
from portcullis.vulndb.nvd import MAX_NVD_BYTES, parse_nvd
from portcullis.vulndb.osv import open_zip
from portcullis.vulndb.store import check_database, locked, swap_in


class UpdateOptions(msgspec.Struct, frozen=True):
    db_path: Path
    source: str = DEFAULT_SOURCE
    ecosystems: Sequence[str] = DEFAULT_ECOSYSTEMS
    retry: Retry = msgspec.field(default_factory=Retry)
    timeout: float = 60.0
    progress: Progress = msgspec.field(default_factory=NullProgress)
    kev: str | None = None  # CISA KEV JSON: a URL, file:// URL or path
    epss: str | None = None  # FIRST EPSS CSV (or .csv.gz): the same
    debian_tracker: str | None = None  # the Debian security tracker JSON: the same
    alpine_secdb: Sequence[str] = ()  # Alpine secdb files (one per branch and repo): the same
    nvd: Sequence[str] = ()  # NVD CVE JSON 2.0 files (pages, feeds, CVE objects): the same
    eol: str | None = None  # end-of-life dates (portcullis's eol.json form): the same


# The whole tracker JSON is ~70 MB, a secdb file a few MB: far above is not one of them.
MAX_FEED_BYTES = 1024 * 1024 * 1024


def parse_ecosystems(text: str) -> tuple[str, ...]:
    """``PyPI, npm,Debian:12`` → the names, in order, without duplicates."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise VulnDBError(f"--ecosystems: empty name in {text!r}")
    bad = [n for n in names if "/" in n or n in (".", "..")]
    if bad:
        raise VulnDBError(f"--ecosystems: not an ecosystem name: {bad[0]!r}")
    return tuple(dict.fromkeys(names))


def export_url(source: str, ecosystem: str) -> str:
    return f"{source.rstrip('/')}/{quote(ecosystem, safe=':')}/all.zip"


def work_dir(db_path: Path) -> Path:
    return db_path.with_name(f".{db_path.name}.update")


def _kept(db_path: Path) -> str:
    if db_path.exists():
        return f"the database at {db_path} is unchanged"
    return "no database was written"


def update(options: UpdateOptions) -> BuildResult:
    """Fetch, build and swap in. ``VulnDBError`` on failure, its message ending with what
    became of the old database."""
    db_path = options.db_path
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with locked(db_path):
            work = work_dir(db_path)
            work.mkdir(exist_ok=True)
            result = _update(options, work)
            shutil.rmtree(work, ignore_errors=True)
    except PortcullisError as e:
        raise VulnDBError(f"db update failed: {e}; {_kept(db_path)}") from e
    except (OSError, sqlite3.Error) as e:  # disk full, permissions, ...
        raise VulnDBError(f"db update failed: {e}; {_kept(db_path)}") from e
    return result


def _update(options: UpdateOptions, work: Path) -> BuildResult:
    # Exploit data first: a bad KEV or EPSS file fails before the long part.
    kev = epss = None
    if options.kev is not None:
        data, fetched_at = _read_extra(options, options.kev, work, "KEV", MAX_KEV_BYTES)
        kev = replace(parse_kev(data, options.kev), url=options.kev, fetched_at=fetched_at)
    if options.epss is not None:
        data, fetched_at = _read_extra(options, options.epss, work, "EPSS", MAX_EPSS_BYTES)
        epss = replace(parse_epss(data, options.epss), url=options.epss, fetched_at=fetched_at)
    nvd = []
    for index, source in enumerate(options.nvd):
        data, fetched_at = _read_extra(options, source, work, "NVD", MAX_NVD_BYTES,
                                       slot=f"-{index}")
        nvd.append(replace(parse_nvd(data, source), url=source, fetched_at=fetched_at))
    eol_data = None
    if options.eol is not None:
        eol_data, _ = _read_extra(options, options.eol, work, "EOL", MAX_EOL_BYTES)
        parse_eol(eol_data, options.eol)
    downloads = _download_all(options, work) + _feeds(options, work)
    new = options.db_path.with_name(f".{options.db_path.name}.new-{os.getpid()}")
    try:
        result = build(new, downloads, options.progress, kev=kev, epss=epss, nvd=nvd)
        check_database(new)
        swap_in(new, options.db_path)
    finally:
        new.unlink(missing_ok=True)
    if eol_data is not None:  # after the database: a failed build leaves both as they were
        write_eol(eol_data, options.db_path)
    return result


def _read_extra(options: UpdateOptions, source: str, work: Path, what: str,
                limit: int, slot: str = "") -> tuple[bytes, str]:
    """The bytes of a KEV or EPSS file (downloaded with retries, or read from disk) and when."""
    local = local_source(source)
    if local is None:
        with httpx.Client(timeout=httpx.Timeout(options.timeout), follow_redirects=True) as c:
            local = fetch(c, source, work / f"{what.lower()}{slot}.download", what, options.retry,
                          options.progress, limit=limit).path
    try:
        with local.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise VulnDBError(f"{what} file {local}: {e.strerror or e}") from e
    if len(data) > limit:
        raise VulnDBError(f"{what} file {source}: larger than {limit} bytes")
    return data, now_utc()


def local_source(source: str) -> Path | None:
    """The directory a ``file://`` URL or a plain path names (a mirror on disk), else None."""
    if source.startswith("file://"):
        return Path(unquote(urlparse(source).path))
    if "://" not in source:
        return Path(source)
    return None


def _local_exports(root: Path, ecosystems: Sequence[str]) -> list[Download]:
    downloads = []
    for ecosystem in ecosystems:
        path = root / ecosystem / "all.zip"
        if not path.is_file():
            raise VulnDBError(f"{ecosystem}: no export at {path}")
        open_zip(path, ecosystem).close()
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        downloads.append(Download(ecosystem=ecosystem, url=str(path), path=path,
                                  fetched_at=now_utc(), last_modified=modified,
                                  bytes=stat.st_size))
    return downloads


def _download_all(options: UpdateOptions, work: Path) -> list[Download]:
    root = local_source(options.source)
    if root is not None:
        return _local_exports(root, options.ecosystems)
    downloads = []
    timeout = httpx.Timeout(options.timeout)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for ecosystem in options.ecosystems:
            url = export_url(options.source, ecosystem)
            dest = work / (quote(ecosystem, safe="") + ".zip")
            fetched = fetch(client, url, dest, ecosystem, options.retry, options.progress)
            _check_zip(fetched, ecosystem)
            downloads.append(Download(ecosystem=ecosystem, url=url, path=fetched.path,
                                      fetched_at=now_utc(), last_modified=fetched.last_modified,
                                      bytes=fetched.bytes))
    return downloads


def _feeds(options: UpdateOptions, work: Path) -> list[Download]:
    wanted = [(debian_tracker.SOURCE, options.debian_tracker)] if options.debian_tracker else []
    wanted += [(alpine_secdb.SOURCE, source) for source in options.alpine_secdb]
    downloads = []
    for index, (kind, source) in enumerate(wanted):
        local = local_source(source)
        last_modified: str | None = None
        if local is None:
            with httpx.Client(timeout=httpx.Timeout(options.timeout),
                              follow_redirects=True) as client:
                fetched = fetch(client, source, work / f"{kind}-{index}.download", kind,
                                options.retry, options.progress, limit=MAX_FEED_BYTES)
            local, last_modified = fetched.path, fetched.last_modified
        try:
            size = local.stat().st_size
        except OSError as e:
            raise VulnDBError(f"{kind} file {local}: {e.strerror or e}") from e
        if size > MAX_FEED_BYTES:
            raise VulnDBError(f"{kind} file {source}: larger than {MAX_FEED_BYTES} bytes")
        downloads.append(Download(ecosystem=kind, url=source, path=local, fetched_at=now_utc(),
                                  last_modified=last_modified, bytes=size, kind=kind))
    return downloads


def _check_zip(fetched: Fetched, ecosystem: str) -> None:
    """Reads the central directory now, so a corrupt download fails before any building; a
    member's CRC is checked as the build reads it."""
    try:
        open_zip(fetched.path, ecosystem).close()
    except VulnDBError:
        fetched.path.unlink(missing_ok=True)  # not worth resuming
        raise
