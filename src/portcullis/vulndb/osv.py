"""OSV records (https://ossf.github.io/osv-schema/) decoded into typed structs, and streamed
out of an ecosystem's ``all.zip`` export one member at a time.

Decoding is tolerant: unknown fields are ignored (the schema grows), optional fields default.
A record of the wrong shape is not an error for the whole export: it becomes a ``Skip`` that
names the zip member and, when it can be read, the record id; the caller counts and reports it.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import VulnDBError

# One OSV record is a few KB; the largest real ones (Ubuntu CVEs listing every release) are
# well under 1 MiB. A member above this is not a record but a decompression bomb or garbage.
MAX_RECORD_BYTES = 32 * 1024 * 1024


class Event(msgspec.Struct, omit_defaults=True):
    """One range event: exactly one of the fields is set in a valid record."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None


class Range(msgspec.Struct, omit_defaults=True):
    type: str
    events: list[Event]
    repo: str | None = None
    database_specific: dict[str, Any] | None = None


class Package(msgspec.Struct, omit_defaults=True):
    ecosystem: str
    name: str
    purl: str | None = None


class Severity(msgspec.Struct):
    type: str
    score: str


class Affected(msgspec.Struct, omit_defaults=True):
    # OSV allows an affected entry without a package (a GIT-only range); such an entry names
    # no package a scan could match, so the build skips it (not the record).
    package: Package | None = None
    ranges: list[Range] = []
    versions: list[str] = []
    severity: list[Severity] = []
    ecosystem_specific: dict[str, Any] | None = None
    database_specific: dict[str, Any] | None = None


class Record(msgspec.Struct):
    id: str
    modified: str
    published: str | None = None
    withdrawn: str | None = None
    aliases: list[str] = []
    upstream: list[str] = []
    related: list[str] = []
    summary: str = ""
    details: str = ""
    severity: list[Severity] = []
    affected: list[Affected] = []
    database_specific: dict[str, Any] | None = None


class _IdOnly(msgspec.Struct):
    id: str


class Skip(msgspec.Struct, frozen=True):
    """A member that is not a usable record: where, which record (if known), and why."""

    source: str
    member: str
    record_id: str | None
    reason: str

    def __str__(self) -> str:
        rid = f" ({self.record_id})" if self.record_id else ""
        return f"{self.source}:{self.member}{rid}: {self.reason}"


_decoder = msgspec.json.Decoder(Record)
_id_decoder = msgspec.json.Decoder(_IdOnly)


def decode_record(data: bytes) -> Record:
    """One OSV record; ``msgspec.DecodeError`` (a ``ValidationError`` for a wrong shape)."""
    record = _decoder.decode(data)
    for affected in record.affected:
        for rng in affected.ranges:
            for event in rng.events:
                _check_event(event)
    return record


def _check_event(event: Event) -> None:
    set_fields = [f for f in Event.__struct_fields__ if getattr(event, f) is not None]
    if len(set_fields) != 1:
        raise msgspec.ValidationError(
            f"a range event must have exactly one of introduced/fixed/last_affected/limit, "
            f"has {set_fields or 'none'}")


def _record_id(data: bytes) -> str | None:
    try:
        return _id_decoder.decode(data).id
    except msgspec.DecodeError:
        return None


def open_zip(path: Path, source: str) -> zipfile.ZipFile:
    """The export at ``path``, its central directory read (``VulnDBError`` if it is not a zip,
    or a truncated one)."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise VulnDBError(f"{source}: not a readable zip ({e})") from e


def iter_zip(archive: zipfile.ZipFile, source: str) -> Iterator[tuple[Record | Skip, int]]:
    """Every record of an OSV ``all.zip`` with its size in bytes, one member at a time (an
    ecosystem's export is never held whole in memory). A member of the wrong shape yields a
    ``Skip``; a member that cannot be read (CRC mismatch, truncated) raises ``VulnDBError``."""
    for info in archive.infolist():
        if not info.is_dir():
            yield _read_member(archive, info, source), info.file_size


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> Record | Skip:
    if not info.filename.endswith(".json"):
        return Skip(source, info.filename, None, "not a .json member")
    if info.file_size > MAX_RECORD_BYTES:
        return Skip(source, info.filename, None, f"member of {info.file_size} bytes is too large")
    try:
        with archive.open(info) as member:
            data = member.read(MAX_RECORD_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as e:
        # A CRC mismatch or truncated data: the download is corrupt, not one record.
        raise VulnDBError(f"{source}: corrupt zip member {info.filename} ({e})") from e
    if len(data) > MAX_RECORD_BYTES:
        return Skip(source, info.filename, None, "member is larger than its header says")
    try:
        return decode_record(data)
    except msgspec.DecodeError as e:
        return Skip(source, info.filename, _record_id(data), f"not an OSV record: {e}")
