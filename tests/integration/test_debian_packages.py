"""Issue acceptance on the real Debian image: dpkg packages equal what dpkg-query reports
inside the same rootfs, and each package's layer is the one whose RUN step installed it."""

from __future__ import annotations

import json

import pytest
from packageurl import PackageURL

from tests.conftest import run_cli
from tests.images.debian import DebianImage

pytestmark = pytest.mark.slow


def test_dpkg_packages_equal_dpkg_query(debian: DebianImage) -> None:
    result = run_cli("scan", f"oci:{debian.oci_dir}:{debian.ref}", "--format", "json",
                     "--quiet", "--scanners", "packages")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    debs = [p for p in doc["packages"] if p["type"] == "deb"]
    got = {(p["name"], p["version"]) for p in debs}
    expected = set()
    for line in debian.dpkg_query.read_text().splitlines():
        name, version, _arch = line.split("\t")
        expected.add((name.split(":")[0], version))
    assert got == expected
    assert len(debs) == len(expected) > 100
    layers = {p["name"]: p["layer"] for p in debs}
    assert layers["curl"] == 1 and layers["ca-certificates"] == 1
    assert layers["libc6"] == 0 and layers["dpkg"] == 0
    assert doc["scanners"]["packages"]["status"] == "ok"
    assert doc["scanners"]["vuln"]["status"] == "skipped"
    for p in debs:
        purl = PackageURL.from_string(p["purl"])
        assert (purl.type, purl.namespace, purl.name, purl.version) == (
            "deb", "debian", p["name"], p["version"])
        assert purl.qualifiers["distro"] == "debian-12"
