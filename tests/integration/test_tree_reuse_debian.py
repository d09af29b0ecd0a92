"""The real Debian test image with its top layer rebuilt (one more file, as a new build of the
application layer makes): a rescan reuses the inventory analyzers whose inputs are in that
layer but unchanged (dpkg's status and file lists sit in the top, ``.deb`` upgrade, layer),
and its report is the report of a scan without cache."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from portcullis.report.json import write_json
from portcullis.scan import ScanOptions, scan
from tests.conftest import stable_report
from tests.images import kit
from tests.images.debian import DebianImage

pytestmark = pytest.mark.slow

DAY = datetime(2026, 12, 1, 12, tzinfo=UTC)
REF = "org.opencontainers.image.ref.name"


def _top_changed(layout: Path, ref: str, out: Path) -> str:
    """A copy of the layout whose top layer holds one more file; other blobs are links."""
    index = json.loads((layout / "index.json").read_bytes())
    [desc] = [d for d in index["manifests"] if d.get("annotations", {}).get(REF) == ref]

    def blob(digest: str) -> Path:
        return layout / "blobs" / digest.replace(":", "/")

    manifest = json.loads(blob(desc["digest"]).read_bytes())
    config = json.loads(blob(manifest["config"]["digest"]).read_bytes())
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for layer in manifest["layers"][:-1]:
        os.link(blob(layer["digest"]), blobs / layer["digest"].split(":")[1])
    raw = blob(manifest["layers"][-1]["digest"]).read_bytes()
    old_tar = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(old_tar), mode="r:") as src, \
            tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        dst.addfile(kit.file("rebuilt.txt", "a new build\n").tarinfo(),
                    io.BytesIO(b"a new build\n"))
    new_tar = buf.getvalue()

    def put(data: bytes) -> dict[str, Any]:
        (blobs / kit.sha(data).split(":")[1]).write_bytes(data)
        return {"digest": kit.sha(data), "size": len(data)}

    config["rootfs"]["diff_ids"][-1] = kit.sha(new_tar)
    manifest["config"] = {**manifest["config"], **put(kit.canonical(config))}
    manifest["layers"][-1] = {**manifest["layers"][-1],
                              **put(gzip.compress(new_tar, compresslevel=1, mtime=0)),
                              "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
    top = put(kit.canonical(manifest))
    (out / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (out / "index.json").write_bytes(kit.canonical({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **top,
         "annotations": {REF: ref}}]}))
    return f"oci:{out}:{ref}"


def _scan(ref: str, cache: Path | None, tmp: Path,
          caplog: pytest.LogCaptureFixture) -> tuple[Any, set[str]]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="portcullis.analyze.tree_reuse"):
        report = scan(ref, ScanOptions(now=DAY, db=tmp / "no-such.db", cache_dir=cache))
    reused = {str(r.args[0]) for r in caplog.records
              if isinstance(r.args, tuple) and r.msg.startswith("tree analyzer %s: result reused")}
    out = io.StringIO()
    write_json(report, out)
    return stable_report(json.loads(out.getvalue())), reused


def test_a_rebuilt_top_layer_reuses_the_inventory(
        debian: DebianImage, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    top = _top_changed(debian.oci_dir, debian.ref, tmp_path / "top")
    cache = tmp_path / "cache"
    _scan(debian.oci_ref, cache, tmp_path, caplog)
    warm, reused = _scan(top, cache, tmp_path, caplog)
    assert {"os-release", "dpkg", "npm", "python", "dedupe"} <= reused
    cold, _ = _scan(top, None, tmp_path, caplog)
    assert warm == cold
    assert len(cold["packages"]) > 50
