"""The real Debian test image (tests/images/debian.py) has the shape other tests rely on."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.images.debian import REQUIRED_TOOLS, DebianImage, debian_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def image() -> DebianImage:
    if os.geteuid() != 0:
        pytest.skip("building the Debian test image needs root")
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install mmdebstrap umoci skopeo)")
    return debian_image()


def _json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _blob(layout: Path, digest: str) -> Path:
    alg, _, hexdigest = digest.partition(":")
    return layout / "blobs" / alg / hexdigest


def _manifest(image: DebianImage) -> dict[str, Any]:
    index = _json(image.oci_dir / "index.json")
    [desc] = [
        d for d in index["manifests"]
        if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == image.ref
    ]
    manifest: dict[str, Any] = _json(_blob(image.oci_dir, desc["digest"]))
    return manifest


def test_outputs_exist(image: DebianImage) -> None:
    assert (image.oci_dir / "oci-layout").is_file()
    assert (image.oci_dir / "index.json").is_file()
    assert image.oci_archive.is_file()
    assert tarfile.is_tarfile(image.oci_archive)
    assert image.docker_archive.is_file()
    assert image.rootfs_dpkg_status.is_file()
    assert image.dpkg_query.is_file()


def test_oci_layout_config_has_the_three_diff_ids(image: DebianImage) -> None:
    manifest = _manifest(image)
    assert len(manifest["layers"]) == 3
    config = _json(_blob(image.oci_dir, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == image.diff_ids
    assert len(image.diff_ids) == 3
    assert config["config"]["User"] == "1000"
    assert "8080/tcp" in config["config"]["ExposedPorts"]
    assert config["config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"
    assert sum(not h.get("empty_layer") for h in config["history"]) == 3


def test_docker_archive_lists_three_layers(image: DebianImage) -> None:
    with tarfile.open(image.docker_archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.load(member)
    assert len(manifest) == 1
    layers = manifest[0]["Layers"]
    assert len(layers) == 3
    # skopeo names the uncompressed layers after their diff_ids
    assert [f"sha256:{PurePosixPath(p).stem}" for p in layers] == image.diff_ids


def test_dpkg_query_lists_curl_and_ca_certificates(image: DebianImage) -> None:
    rows = [line.split("\t") for line in image.dpkg_query.read_text().splitlines()]
    packages = {row[0]: row for row in rows}
    assert all(len(row) == 3 for row in rows)
    assert "curl" in packages
    assert "ca-certificates" in packages
    assert packages["ca-certificates"][2] == "all"
    status = image.rootfs_dpkg_status.read_text()
    assert "Package: curl\n" in status


def test_layer_two_has_a_real_whiteout(image: DebianImage) -> None:
    layer = _manifest(image)["layers"][2]
    assert layer["mediaType"].endswith("+gzip")
    blob = _blob(image.oci_dir, layer["digest"])
    with blob.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        names = [m.name.removeprefix("./") for m in tar]
    assert "etc/.wh.issue.net" in names
    assert "app/config.ini" in names
    assert "etc/motd" in names
    # the layer's uncompressed stream hashes to its diff_id
    digest = hashlib.sha256()
    with gzip.open(blob, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    assert f"sha256:{digest.hexdigest()}" == image.diff_ids[2]
