"""rpm's SQLite backend (rpm ≥ 4.16; Fedora 33+, RHEL 9, CBL-Mariner 2, Amazon Linux 2023).

``rpmdb.sqlite`` holds a table ``Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`` with one
header blob per installed package; the other tables are indexes rpm can rebuild. The bytes are
opened in memory (``sqlite3`` ``deserialize``), never written to disk. rpm keeps the DB in WAL
mode; a deserialised database cannot use WAL, so the two header bytes that say so are set back
to the rollback journal in our private copy. Pages still sitting in a ``-wal`` file beside the
DB are not seen (images normally carry a checkpointed DB).
"""

from __future__ import annotations

from contextlib import closing

from portcullis.analyze.os.rpmdb.header import RpmdbError

MAGIC = b"SQLite format 3\x00"
_WRITE_VERSION = 18  # file header bytes 18 and 19: 1 = rollback journal, 2 = WAL
# Bound on SQLite VM steps per DB (in units of 1000): a hostile schema must not spin forever.
_STEP_BUDGET_PER_MIB = 2_000


class SqliteError(RpmdbError):
    """The SQLite rpmdb cannot be opened or has no readable Packages table."""


def is_sqlite(data: bytes) -> bool:
    return data[:16] == MAGIC


def read_blobs(data: bytes) -> tuple[list[bytes], list[str]]:
    """Header blobs in ``hnum`` order, and a message per row that is not a blob."""
    import sqlite3  # here: the rpm analyzer comes with every scan, an rpm database rarely

    if not is_sqlite(data):
        raise SqliteError("not an SQLite database (bad magic)")
    if len(data) < 100:
        raise SqliteError(f"SQLite database truncated to {len(data)} bytes")
    image = bytearray(data)
    if image[_WRITE_VERSION] == 2 or image[_WRITE_VERSION + 1] == 2:
        image[_WRITE_VERSION] = image[_WRITE_VERSION + 1] = 1
    budget = max(1, len(data) >> 20) * _STEP_BUDGET_PER_MIB
    steps = 0

    def progress() -> int:
        nonlocal steps
        steps += 1
        return 1 if steps > budget else 0  # non-zero aborts the statement

    try:
        with closing(sqlite3.connect(":memory:")) as conn:
            conn.text_factory = bytes  # a hostile schema's text need not be UTF-8
            conn.deserialize(bytes(image))
            conn.set_progress_handler(progress, 1000)
            conn.execute("PRAGMA query_only = ON")
            kind = conn.execute(
                "SELECT type FROM sqlite_master WHERE name = 'Packages'"
            ).fetchone()
            if kind is None:
                raise SqliteError("SQLite database has no Packages table")
            if kind[0] != b"table":
                raise SqliteError(f"Packages is a {kind[0]!r}, not a table")
            rows = conn.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    except (sqlite3.Error, ValueError, OverflowError) as e:
        if steps > budget:
            raise SqliteError("SQLite database took too long to read; given up") from e
        raise SqliteError(f"SQLite database unreadable: {e}") from e
    blobs: list[bytes] = []
    problems: list[str] = []
    for hnum, blob in rows:
        if isinstance(blob, bytes):
            blobs.append(blob)
        else:
            problems.append(f"Packages row {hnum} holds {type(blob).__name__}, not a blob")
    return blobs, problems
