"""Blob hashes begun while the scan starts (analyze/blob_hashes.HashAhead): the same hashes as
hashing on demand, every source error raised for the layer it belongs to, no thread outliving
the scan, and a rescan that uses them. Real OCI layouts from the kit."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from portcullis.analyze.blob_hashes import HashAhead, hash_blobs
from portcullis.errors import PortcullisError
from portcullis.progress import NullProgress
from portcullis.scan import ScanOptions, scan
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit


def _layers(count: int = 4) -> list[kit.Layer]:
    # Sizes differ so the thread is still busy with the big bottom blob when take() is asked.
    return [kit.Layer([kit.file(f"data/f{i}", bytes([i]) * (3 << 20 if i == 0 else 1000))],
                      compression="none" if i == 0 else "gzip")
            for i in range(count)]


def _layout(tmp_path: Path, layers: list[kit.Layer] | None = None) -> Path:
    return kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers or _layers()),
                                ref="t")


def _blob_sha256(root: Path, digest: str | None) -> str:
    assert digest is not None
    return hashlib.sha256((root / "blobs" / digest.replace(":", "/")).read_bytes()).hexdigest()


def test_the_hashes_begun_ahead_are_the_blobs_sha256(tmp_path: Path) -> None:
    root = _layout(tmp_path)
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        layers = list(image.info.layers)
        expected = [_blob_sha256(root, layer.digest) for layer in layers]
        ahead = HashAhead.start(image, NullProgress())
        assert ahead is not None
        try:
            # Asked at once (the thread has barely begun) and for a subset, out of order.
            assert ahead.take(layers[1:3]) == expected[1:3]
            assert ahead.take(layers) == expected
        finally:
            ahead.stop()
        assert hash_blobs(image, layers, NullProgress()) == expected


def test_after_stop_the_hashes_are_still_given(tmp_path: Path) -> None:
    root = _layout(tmp_path)
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        ahead = HashAhead.start(image, NullProgress())
        assert ahead is not None
        ahead.stop()  # possibly in the middle of the first blob
        layers = list(image.info.layers)
        assert ahead.take(layers) == [_blob_sha256(root, layer.digest) for layer in layers]


def test_a_missing_blob_is_raised_for_its_layer_only(tmp_path: Path) -> None:
    root = _layout(tmp_path)
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        layers = list(image.info.layers)
        gone = layers[1].digest
        assert gone is not None
        (root / "blobs" / gone.replace(":", "/")).unlink()
        ahead = HashAhead.start(image, NullProgress())
        assert ahead is not None
        try:
            assert ahead.take([layers[0]]) == [_blob_sha256(root, layers[0].digest)]
            with pytest.raises(PortcullisError) as found:
                ahead.take(layers)
        finally:
            ahead.stop()
        with pytest.raises(PortcullisError) as on_demand:
            hash_blobs(image, [layers[1]], NullProgress())
        assert type(found.value) is type(on_demand.value)
        assert str(found.value) == str(on_demand.value)


def test_a_single_tar_archive_is_not_hashed_ahead(tmp_path: Path) -> None:
    # One file holds every blob: its reader is not shared between threads.
    archive = kit.write_docker_archive(tmp_path / "img.tar", kit.ImageSpec(layers=_layers(2)))
    with open_image(f"docker-archive:{archive}", SourceOptions()) as image:
        assert HashAhead.start(image, NullProgress()) is None


def _ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "blob-hash-ahead"]


def test_scans_leave_no_hashing_thread_and_a_rescan_matches(tmp_path: Path) -> None:
    root = _layout(tmp_path)
    options = ScanOptions(scanners=frozenset({"secret"}), cache_dir=tmp_path / "cache")
    cold = scan(f"oci:{root}:t", options)
    assert _ahead_threads() == []
    changed = _layers()
    token = "ghp_" + "R7kQ2mX9vLp4TzW8nB3cY6dF1gH5jK0sA2eU"  # GitHub token shape
    changed[-1] = kit.Layer([kit.file("data/f3", f"token={token}\n")])
    top = kit.write_oci_layout(tmp_path / "top", kit.ImageSpec(layers=changed), ref="t")
    rescan = scan(f"oci:{top}:t", options)
    assert _ahead_threads() == []
    assert rescan.scanners["secret"].status == cold.scanners["secret"].status == "ok"
    fresh = scan(f"oci:{top}:t", ScanOptions(scanners=frozenset({"secret"})))
    assert [f.path for f in rescan.findings] == [f.path for f in fresh.findings]
    assert "/data/f3" in [f.path for f in rescan.findings]
