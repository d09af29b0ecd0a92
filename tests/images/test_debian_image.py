"""The real Debian test image (tests/images/debian.py) has the shape other tests rely on."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.images.debian import (
    DEMO_NEW,
    DEMO_PACKAGE,
    LAYERS,
    DebianImage,
)

pytestmark = pytest.mark.slow


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


def test_oci_layout_config_has_the_six_diff_ids(image: DebianImage) -> None:
    manifest = _manifest(image)
    assert len(manifest["layers"]) == len(LAYERS) == 6
    assert image.layers == LAYERS
    config = _json(_blob(image.oci_dir, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == image.diff_ids
    assert len(image.diff_ids) == 6
    assert config["config"]["User"] == "1000"
    assert "8080/tcp" in config["config"]["ExposedPorts"]
    assert config["config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"
    layer_history = [h["created_by"] for h in config["history"] if not h.get("empty_layer")]
    assert len(layer_history) == 6
    assert layer_history[LAYERS["base"]] == "ADD rootfs.tar /"
    assert layer_history[LAYERS["apt"]].startswith("RUN /bin/sh -c apt-get update")
    assert layer_history[LAYERS["pip"]].startswith("RUN pip install ")
    assert layer_history[LAYERS["npm"]].startswith("RUN npm install ")
    assert layer_history[LAYERS["upgrade"]] == f"RUN dpkg -i {DEMO_PACKAGE}_{DEMO_NEW}_all.deb"


def test_docker_archive_lists_six_layers(image: DebianImage) -> None:
    with tarfile.open(image.docker_archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.load(member)
    assert len(manifest) == 1
    layers = manifest[0]["Layers"]
    assert len(layers) == 6
    # skopeo names the uncompressed layers after their diff_ids
    assert [f"sha256:{PurePosixPath(p).stem}" for p in layers] == image.diff_ids


def test_dpkg_query_lists_curl_and_ca_certificates(image: DebianImage) -> None:
    rows = [line.split("\t") for line in image.dpkg_query.read_text().splitlines()]
    packages = {row[0]: row for row in rows}
    assert all(len(row) == 3 for row in rows)
    assert "curl" in packages
    assert "ca-certificates" in packages
    assert packages[DEMO_PACKAGE][1:] == [DEMO_NEW, "all"]
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


def _layer_names(image: DebianImage, index: int) -> list[str]:
    layer = _manifest(image)["layers"][index]
    blob = _blob(image.oci_dir, layer["digest"])
    with blob.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
        return [m.name.removeprefix("./") for m in tar]


def test_pip_and_npm_layers_and_their_records(image: DebianImage) -> None:
    pip_names = _layer_names(image, LAYERS["pip"])
    dist = "usr/local/lib/python3.11/dist-packages"
    assert f"{dist}/requests-2.31.0.dist-info/METADATA" in pip_names
    assert not any(n.startswith("var/lib/dpkg/") for n in pip_names)
    pip_list = _json(image.pip_list)
    assert {p["name"] for p in pip_list} >= {"requests", "urllib3", "idna", "certifi"}
    npm_names = _layer_names(image, LAYERS["npm"])
    assert "app/package-lock.json" in npm_names
    assert "app/node_modules/express/package.json" in npm_names
    npm_list = _json(image.npm_list)
    assert npm_list["dependencies"]["express"]["version"] == "4.18.2"


def test_upgrade_layer_rewrites_the_dpkg_database(image: DebianImage) -> None:
    names = _layer_names(image, LAYERS["upgrade"])
    assert "var/lib/dpkg/status" in names
    assert f"usr/share/{DEMO_PACKAGE}/VERSION" in names
    assert f"var/lib/dpkg/info/{DEMO_PACKAGE}.list" in names
    assert image.package_layers[DEMO_PACKAGE] == LAYERS["upgrade"]
    assert image.package_layers["curl"] == LAYERS["apt"]
    assert image.package_layers["libc6"] == LAYERS["base"] == 0


@pytest.fixture(scope="module")
def image(debian: DebianImage) -> DebianImage:
    return debian
