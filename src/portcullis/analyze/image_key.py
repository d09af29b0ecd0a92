"""The key of a whole scan's cached engine result (``layer_cache.CachedImage``).

A rescan of an unchanged image may skip the view and every tree analyzer only when nothing
those analyzers read has changed. Besides the layers' bytes (checked separately: the entry
records their hashes), that is: the image's metadata (config, history, labels, annotations,
the layer list with its diff_ids), the user's check settings and the content of the files they
name (password dictionary), the compliance policy and the end-of-life file, the base image
catalog (shipped and the user's), every data file shipped with the tool, and the scan's date
(end of life, password ageing). The salt (``layer_cache.key_salt``) brings the tool version,
the analyzers and their versions, the limits and the rule files.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from portcullis.analyze.base import AnalysisResult, CheckSettings
from portcullis.analyze.base_catalog import user_catalog_path
from portcullis.model.image import ImageInfo

if TYPE_CHECKING:  # loaded only by a scan with the compliance scanner
    from portcullis.model.compliance import ComplianceSettings

# Warnings whose text says the result depended on the wall clock (a time budget ran out):
# such a result is not kept, a rescan might finish the work.
_TIME_BOUND = ("(--password-budget)",)



def _path_as_text(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"{type(value).__name__} in an image key")


_encoder = msgspec.json.Encoder(enc_hook=_path_as_text, order="deterministic")


def image_key(salt: str, info: ImageInfo, verify: bool, now: datetime,
              checks: CheckSettings, compliance: ComplianceSettings | None) -> str:
    """The key under which a whole scan's engine result is stored and looked up."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}:{len(data)}:".encode() + data)

    add("salt", salt.encode())
    add("verify", b"1" if verify else b"0")
    # Not the reference, the repo tags nor the manifest digest: no analyzer reads them, and
    # the report takes them from this scan's image.
    add("config_digest", (info.config_digest or "").encode())
    add("config", _encoder.encode(info.config))
    add("layers", _encoder.encode(info.layers))
    add("annotations", _encoder.encode(info.annotations))
    add("source", info.source.encode())
    add("date", now.date().isoformat().encode())
    add("checks", _encoder.encode(checks))
    add("dictionary", _content(checks.password_dictionary))
    if compliance is not None:
        add("policy", _encoder.encode(compliance.policy))
        add("eol", _content(compliance.eol_file))
        add("version_order", b"1" if compliance.version_order is not None else b"0")
    add("catalog", _content(user_catalog_path()))
    for name, data in _shipped_data():
        add(f"data/{name}", data)
    return h.hexdigest()


def storable(result: AnalysisResult) -> bool:
    """Whether a result may be kept: not when it depended on a time budget."""
    return not any(marker in w.message for w in result.warnings for marker in _TIME_BOUND)


def _content(path: Path | None) -> bytes:
    """A file's bytes, or what stands for its absence (a missing file is a state too)."""
    if path is None:
        return b"none"
    try:
        return b"file:" + path.read_bytes()
    except OSError as e:
        return f"unreadable: {type(e).__name__}".encode()


def _shipped_data() -> list[tuple[str, bytes]]:
    """Every data file shipped with the tool (end-of-life dates, catalogs, word lists): they
    may change without an analyzer's version changing."""
    folder = resources.files("portcullis").joinpath("data")
    out = []
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.is_file():
            out.append((item.name, item.read_bytes()))
    return out
