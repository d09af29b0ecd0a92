"""What the engine stores per layer in a layer cache, and how it names and trusts an entry.

The engine only sees the ``LayerCache`` protocol; the store on disk is ``portcullis.cache``.

Trust: an entry is served only for the very bytes that produced it. Its key is built from
claims (the layer's blob digest, else its diff_id) and from the *verified* blob hashes of
every layer below it, but the entry itself records the sha256 of the raw blob as the engine
hashed it when the entry was written. Before an entry is used, the layer's blob is read once
more (hashed, not inflated or parsed) and must hash to that value. A forged config that names
a cached layer's diff_id over other bytes therefore reads as a miss, and the real bytes are
analysed (and fail the diff_id check when it is on).

Why the key holds the layers below: a hard link may name a file of a lower layer, and the
capture budget is shared by all layers, so one layer's results can depend on the ones below.
Images sharing their bottom layers (a common base) still share entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import msgspec
from msgspec.structs import asdict

from portcullis import __version__
from portcullis.analyze.base import AnalysisResult, AnalyzerSettings
from portcullis.analyze.malware.settings import MalwareSettings
from portcullis.analyze.tree_reuse import TreeRecord, TreeRecords
from portcullis.errors import LayerError
from portcullis.layers.index import LayerIndex
from portcullis.limits import ScanLimits
from portcullis.model.baseline import BaselineResult
from portcullis.model.blob import Reader
from portcullis.model.distro import Distro
from portcullis.model.files import FileKind, FileMeta, Location
from portcullis.model.finding import Finding, Severity, Warning
from portcullis.model.image import LayerRef
from portcullis.model.package import Package
from portcullis.model.report import BaseImageInfo, FileStats, LayerTotals

# Bump when the engine's per-layer record or its meaning changes.
# 2: the records are msgspec Structs; 3: captured files carry their sha256, an index's
# entries are a list
FORMAT = 3


class CapturedFile(msgspec.Struct, array_like=True, gc=False):
    """A file a tree analyzer asked to capture, and the sha256 of its bytes, hashed when the
    entry was made. A replayed read (tree_reuse.py) compares that digest instead of hashing
    the bytes again. Trusting it is trusting the entry: it is covered by the entry's checksum
    like the bytes, the index and the results beside it, so a torn or garbled entry is
    rejected whole; an entry that checks but lies could only be written on purpose by whoever
    can write the cache folder, who could as well write lying results."""

    path: str
    data: memoryview  # decoded as a view of the entry's bytes: no copy (layers/content.py)
    sha256: bytes


class CachedLayer(msgspec.Struct):
    """One layer's share of a scan: its index, the file analyzers' results, the files the
    tree analyzers asked to capture, and the identity of the bytes that produced them."""

    blob_sha256: str  # sha256 of the raw blob as read, hex
    diff_id: str | None  # the diff_id verified while reading, None when it was not checked
    index: LayerIndex  # less its entries: they are ``entries`` (see ``of``)
    result: AnalysisResult
    files: int  # tar entries counted against max_files
    captured: list[CapturedFile] = msgspec.field(default_factory=list)
    entries: list[FileMeta] = msgspec.field(default_factory=list)

    @classmethod
    def of(cls, blob_sha256: str, diff_id: str | None, index: LayerIndex,
           result: AnalysisResult, files: int, captured: list[CapturedFile]) -> CachedLayer:
        """The entry of a layer just read. Its index's entries are kept as a list: as a dict
        by path, every path would be stored, checksummed and decoded twice (the key and the
        FileMeta's own), a third of a rescan's entry decoding."""
        return cls(blob_sha256=blob_sha256, diff_id=diff_id,
                   index=msgspec.structs.replace(index, entries={}), result=result,
                   files=files, captured=captured, entries=list(index.entries.values()))

    def layer_index(self) -> LayerIndex:
        """The layer's index, whole (a path is the key of its own FileMeta: the index keys
        every entry by ``meta.path``, see layers/index.py)."""
        return msgspec.structs.replace(self.index,
                                       entries={meta.path: meta for meta in self.entries})


class CachedInventory(msgspec.Struct):
    """What the environment and inventory stages made of a whole image (after the dedupe
    steps): the combined result of every layer and of those tree analyzers, and the distro.
    Those analyzers read only the files, so the key is the layers' verified blob hashes (their
    count included). A checks-stage analyzer may read more (the base image analyzer reads the
    image's labels and the user's catalog) and runs on every scan, unless it declares
    ``reads_only_files = True`` (the files and the number of layers, nothing else): then its
    result is kept in ``checks``, by name."""

    result: AnalysisResult
    distro: Distro | None
    checks: dict[str, AnalysisResult] = msgspec.field(default_factory=dict)


class CachedImage(msgspec.Struct):
    """A whole scan's engine result, for a rescan of the same image with the same settings:
    what every analyzer found (after the tree analyzers, visibility marks and warning caps)
    and the file totals of the view. Its key (``engine_key.image_key``) is made of claims and
    settings; ``blobs`` are the sha256 of the raw layer blobs as hashed when it was written,
    and it is served only when this scan hashes every blob to the same values. Never written
    for a scan in which an analyzer failed."""

    blobs: list[str]
    result: AnalysisResult
    files: FileStats


class LayerCache(Protocol):
    def get(self, key: str) -> CachedLayer | None:
        """The entry stored under ``key``, or None (missing, torn or unreadable)."""
        ...

    def put(self, key: str, layer: CachedLayer) -> None: ...

    def get_inventory(self, key: str) -> CachedInventory | None: ...

    def put_inventory(self, key: str, inventory: CachedInventory) -> None: ...

    def get_image(self, key: str) -> CachedImage | None: ...

    def put_image(self, key: str, image: CachedImage) -> None: ...

    def get_tree(self, key: str) -> TreeRecords | None:
        """One tree analyzer's recorded runs (analyze/tree_reuse.py), or None."""
        ...

    def put_tree(self, key: str, record: TreeRecord) -> None: ...


def key_salt(analyzers: Sequence[object], limits: ScanLimits, settings: str = "") -> str:
    """Everything besides the bytes that changes a layer's results: the tool and record
    versions, the shape of the stored types, each enabled analyzer's name and version (tree
    analyzers too: their globs decide what is captured), the limits, and ``settings`` (a
    digest of the user's rule files and of the shipped rule data, :func:`settings_digest`)."""
    names = sorted(
        (a.spec.name, a.spec.version) for a in analyzers  # type: ignore[attr-defined]
    )
    doc = {"format": FORMAT, "tool": __version__, "shape": _shape(), "analyzers": names,
           "limits": asdict(limits), "settings": settings}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def settings_digest(malware: MalwareSettings, settings: AnalyzerSettings) -> str:
    """The content of every rule file a layer's results depend on: the shipped secret rules
    and YARA rules (edited without an analyzer version bump, they must still miss the cache),
    the user's rule directories, hash lists and secret config, and the clamd address (whose
    answers depend on its signatures: see docs/cli.md on --clamd and the cache)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    shipped = sorted((package / "malware" / "rules").glob("*.yar"))
    shipped += sorted((package / "secrets").glob("*.toml"))
    user: list[Path] = [*malware.hash_lists]
    for folder in malware.rule_dirs:
        user += sorted(p for p in Path(folder).rglob("*") if p.suffix in (".yar", ".yara"))
    if settings.secret_config is not None:
        user.append(settings.secret_config)
    for path in [*shipped, *user]:
        h.update(str(path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError as e:  # checked before the scan; a file gone since is a miss
            h.update(f"unreadable: {e}".encode())
    h.update(repr(malware.clamd).encode() + repr(malware.max_scan_size).encode())
    return h.hexdigest()


def _shape() -> list[object]:
    """The fields of every type an entry holds: a field added, renamed or retyped during
    development changes the keys, so an older entry is never decoded into a newer shape."""
    shape: list[object] = []
    for cls in _STORED:
        if isinstance(cls, type) and issubclass(cls, Enum):
            shape.append([cls.__name__, [m.name for m in cls]])
        else:
            # The annotations as written (strings): msgspec.structs.fields would resolve them.
            hints = cls.__annotations__
            shape.append([cls.__name__, [(n, str(hints[n])) for n in cls.__struct_fields__]])
    return shape


_STORED: tuple[Any, ...] = (
    CachedLayer, CapturedFile, CachedInventory, CachedImage, LayerIndex, AnalysisResult,
    FileMeta, FileKind, Warning, Finding, Severity, Package, Location, Distro, LayerTotals,
    BaseImageInfo, FileStats, BaselineResult, TreeRecord, TreeRecords,
)


def layer_key(salt: str, below: Sequence[str], layer: LayerRef) -> str:
    """The key of ``layer`` given the verified blob hashes of the layers below it."""
    claim = layer.digest or layer.diff_id
    parts = [salt, *below, claim]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def inventory_key(salt: str, blobs: Sequence[str]) -> str:
    """The key of a whole image's inventory: every layer's verified blob hash, in order."""
    return hashlib.sha256("\n".join([salt, "inventory", *blobs]).encode()).hexdigest()


class HashingReader:
    """Pass a raw blob through, hashing it with sha256 (the key of what was read)."""

    def __init__(self, raw: Reader) -> None:
        self._raw = raw
        # A source reader that checks the blob against its sha256 digest at EOF (the
        # sources' VerifyingReader) hands over that hash: hashing every blob twice was a
        # tenth of the layer read. Its hash is only set once the digest matched.
        self._checked = getattr(raw, "checks_sha256", False) is True
        self._hasher = None if self._checked else hashlib.sha256()
        # progress reads it (layers report bytes of the raw blob)
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        if data:
            self.bytes_read += len(data)
            if self._hasher is not None:
                self._hasher.update(data)
        return data

    def close(self) -> None:
        self._raw.close()

    def hexdigest(self) -> str:
        if self._hasher is not None:
            return self._hasher.hexdigest()
        checked = getattr(self._raw, "sha256", None)
        if not isinstance(checked, str):
            # Only asked after a read to EOF, where the source raised on a mismatch.
            raise LayerError("layer blob was not read to its end: no verified hash")
        return checked
