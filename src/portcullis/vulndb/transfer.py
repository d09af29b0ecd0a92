"""``db export`` / ``db import``: a built database as one zstd file, for air-gapped sites.

The file is a standard zstd file (``zstd -d`` reads it): a skippable frame first, holding a
small JSON header (format, schema, the database's size and SHA-256), then the compressed
database. Import decompresses beside the target, checks size, checksum and that the result
opens as a database of our schema, and only then swaps it in.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import IO, Any

import zstandard

from portcullis.errors import VulnDBError
from portcullis.vulndb.store import Meta, check_database, locked, swap_in

FORMAT = "portcullis-vulndb"
_SKIPPABLE_MAGIC = 0x184D2A50
_MAX_HEADER = 64 * 1024
_CHUNK = 1 << 20


def export_db(db_path: Path, out: Path, level: int = 10) -> Meta:
    """Write the database at ``db_path`` to ``out`` (atomically: whole or not at all)."""
    meta = check_database(db_path)
    digest, size = _sha256(db_path)
    header = json.dumps({"format": FORMAT, "schema": meta.schema, "built_at": meta.built_at,
                         "size": size, "sha256": digest}).encode()
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        with partial.open("wb") as dst, db_path.open("rb") as src:
            dst.write(struct.pack("<II", _SKIPPABLE_MAGIC, len(header)) + header)
            compressor = zstandard.ZstdCompressor(level=level, write_checksum=True,
                                                  write_content_size=True)
            compressor.copy_stream(src, dst, size=size)
        partial.replace(out)
    except OSError as e:
        raise VulnDBError(f"cannot write {out}: {e.strerror or e}") from e
    finally:
        partial.unlink(missing_ok=True)
    return meta


def import_db(archive: Path, db_path: Path) -> Meta:
    """Install the database exported in ``archive`` at ``db_path``; the old one stays unless
    the new one is whole and valid."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    new = db_path.with_name(f".{db_path.name}.import-{os.getpid()}")
    try:
        with locked(db_path), archive.open("rb") as src:
            header = _read_header(src, archive)
            _decompress(src, new, archive)
            digest, size = _sha256(new)
            if size != header.get("size") or digest != header.get("sha256"):
                raise VulnDBError(f"{archive}: checksum mismatch (the file is damaged)")
            meta = check_database(new)
            swap_in(new, db_path)
            return meta
    except OSError as e:
        raise VulnDBError(f"cannot import {archive}: {e.strerror or e}") from e
    finally:
        new.unlink(missing_ok=True)


def _read_header(src: IO[bytes], archive: Path) -> dict[str, Any]:
    start = src.read(8)
    if len(start) != 8:
        raise VulnDBError(f"{archive}: not a Portcullis database export (too short)")
    magic, length = struct.unpack("<II", start)
    if magic != _SKIPPABLE_MAGIC or length > _MAX_HEADER:
        raise VulnDBError(f"{archive}: not a Portcullis database export")
    try:
        header = json.loads(src.read(length))
    except ValueError as e:
        raise VulnDBError(f"{archive}: unreadable export header ({e})") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise VulnDBError(f"{archive}: not a Portcullis database export")
    return header


def _decompress(src: IO[bytes], dest: Path, archive: Path) -> None:
    try:
        with dest.open("wb") as out:
            zstandard.ZstdDecompressor().copy_stream(src, out, read_size=_CHUNK,
                                                     write_size=_CHUNK)
    except zstandard.ZstdError as e:
        raise VulnDBError(f"{archive}: corrupt compressed data ({e})") from e


def _sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
