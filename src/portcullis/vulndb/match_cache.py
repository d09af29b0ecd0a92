"""Match results kept for a rescan: what matching one inventory against one database found.

A rescan after a top-layer change usually has the same packages as the scan before it, and
matching them again costs the matcher's imports and a few hundred lookups (~25 ms of a 0.5 s
rescan of the Debian test image). The key holds everything the answer depends on:

- the packages and the distro, as their msgpack bytes (every field, not only name and
  version: a location or a source package changes the key too);
- the database's identity: its meta (build time, sources, counts) and the file's device,
  inode, size and modification time, so a database rebuilt, replaced or edited in place is
  another key;
- the code that matches: a digest of the ``vulndb`` and ``model`` sources, so neither an
  upgrade nor a local edit of the matcher is ever answered from an older result.

The results are stored in the layer cache folder (portcullis/cache.py, ``matches/``), with
its size bound, locks and torn-entry checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from portcullis import __version__
from portcullis.model.distro import Distro
from portcullis.model.finding import Finding, Warning
from portcullis.model.package import Package

if TYPE_CHECKING:  # the cache imports this module on every scan; the store only a vuln scan
    from portcullis.vulndb.store import Meta

FORMAT = 1


class CachedMatch(msgspec.Struct):
    findings: list[Finding]
    warnings: list[Warning]


def match_key(db: Path, meta: Meta, packages: Sequence[Package],
              distro: Distro | None) -> str | None:
    """The key of matching ``packages`` against the database at ``db``; None when the
    database file cannot be identified (nothing is cached then)."""
    try:
        st = db.stat()
    except OSError:
        return None
    encode = msgspec.msgpack.encode
    h = hashlib.sha256()
    for part in (str(FORMAT), __version__, _code_digest(),
                 f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"):
        h.update(part.encode() + b"\0")
    try:
        for blob in (encode(meta), encode(distro), encode(list(packages))):
            h.update(hashlib.sha256(blob).digest())
    except (UnicodeEncodeError, msgspec.EncodeError):
        return None  # a name that is not UTF-8 has no msgpack form: matched every time
    return h.hexdigest()


@cache
def _code_digest() -> str:
    """The sources of the matcher and of the records it reads and makes."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for folder in ("vulndb", "model"):
        for path in sorted((package / folder).rglob("*.py")):
            h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
