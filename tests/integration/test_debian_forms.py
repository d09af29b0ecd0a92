"""The issue's acceptance check on a real Debian image built from Debian packages:
docker-archive, oci, oci-archive and a pull from a real registry give the same layers and OS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.images.debian import DebianImage
from tests.integration.conftest import Registry
from tests.integration.registry_server import push

pytestmark = pytest.mark.slow


def _scan(ref: str) -> dict[str, Any]:
    result = run_cli("scan", ref, "--format", "json", "--quiet")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_every_form_gives_the_same_layers_and_os(debian: DebianImage,
                                                  plain_registry: Registry) -> None:
    pushed = push(debian.oci_dir, debian.ref, f"{plain_registry.host}/debian/test:12")
    refs = {
        "docker-archive": f"docker-archive:{debian.docker_archive}",
        "oci": f"oci:{debian.oci_dir}:{debian.ref}",
        "oci-archive": f"oci-archive:{debian.oci_archive}",
        "registry": f"registry:{plain_registry.host}/debian/test:12",
        "registry-digest": f"registry:{plain_registry.host}/debian/test@{pushed}",
    }
    docs = {name: _scan(ref) for name, ref in refs.items()}
    for name, doc in docs.items():
        art = doc["artifact"]
        assert [layer["diff_id"] for layer in art["layers"]] == debian.diff_ids, name
        assert art["os"]["family"] == "debian" and art["os"]["version"] == "12", name
        assert art["os"]["codename"] == "bookworm", name
        assert art["layers"][0]["created_by"] == "ADD rootfs.tar /", name
        assert art["config"]["exposed_ports"] == ["8080/tcp"], name
        assert doc["warnings"] == [], (name, doc["warnings"])
    assert docs["registry-digest"]["artifact"]["manifest_digest"] == pushed
    # The squashed file inventory is identical whichever way the image arrived.
    counts = {name: (doc["files"]["count"], doc["files"]["total_size"]) for name, doc in docs.items()}
    assert len(set(counts.values())) == 1, counts
    assert counts["oci"][0] > 1000
