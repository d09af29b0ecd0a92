"""Pure-Python readers for rpm's package databases: SQLite (``rpmdb.sqlite``), NDB
(``Packages.db``) and Berkeley DB hash (``Packages``). No rpm binary, no librpm.

:func:`read_database` tells the format from the bytes, pulls the header blobs out of the
container and parses each into an :class:`RpmPackage`. A container that cannot be read at all
raises :class:`RpmdbError`; a single bad record is skipped and described in ``problems``.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from portcullis.analyze.os.rpmdb import bdb, ndb, sqlite
from portcullis.analyze.os.rpmdb.header import (
    Header,
    HeaderError,
    NevraKey,
    RpmdbError,
    RpmPackage,
    nevra_key,
    read_package,
)

__all__ = [
    "Database",
    "Header",
    "HeaderError",
    "NevraKey",
    "RpmPackage",
    "RpmdbError",
    "detect_format",
    "read_database",
    "read_headers",
    "read_keys",
]

_READERS: dict[str, Callable[[bytes], tuple[list[bytes], list[str]]]] = {
    "sqlite": sqlite.read_blobs,
    "ndb": ndb.read_blobs,
    "bdb": bdb.read_blobs,
}


class Database(msgspec.Struct, frozen=True, kw_only=True):
    format: str  # "sqlite", "ndb" or "bdb"
    packages: tuple[RpmPackage, ...]
    problems: tuple[str, ...] = ()


def detect_format(data: bytes) -> str | None:
    if sqlite.is_sqlite(data):
        return "sqlite"
    if ndb.is_ndb(data):
        return "ndb"
    if bdb.is_bdb(data):
        return "bdb"
    return None


def read_headers(data: bytes) -> tuple[str, list[Header], list[str]]:
    """(format, parsed headers, problems) of a database file's bytes."""
    kind = detect_format(data)
    if kind is None:
        raise RpmdbError("not an rpm database: neither SQLite, NDB nor Berkeley DB")
    blobs, problems = _READERS[kind](data)
    headers: list[Header] = []
    for number, blob in enumerate(blobs):
        try:
            headers.append(Header(blob))
        except HeaderError as e:
            problems.append(f"header {number}: {e}; skipped")
    return kind, headers, problems


def read_database(data: bytes) -> Database:
    kind, headers, problems = read_headers(data)
    packages: list[RpmPackage] = []
    for number, header in enumerate(headers):
        try:
            packages.append(read_package(header))
        except HeaderError as e:
            problems.append(f"header {number}: {e}; skipped")
    return Database(format=kind, packages=tuple(packages), problems=tuple(problems))


def read_keys(data: bytes) -> list[NevraKey]:
    """Only (name, epoch, version, release, arch) of every readable package: cheaper than
    :func:`read_database` for looking at older versions of a DB."""
    keys: list[NevraKey] = []
    for header in read_headers(data)[1]:
        try:
            keys.append(nevra_key(header))
        except HeaderError:
            continue
    return keys
