"""What sbom_input reads from a third-party-looking SBOM: types, source packages and the
distribution from purls alone."""

from __future__ import annotations

import json
from pathlib import Path

from portcullis.sbom_input import read_sbom


def test_purls_alone_give_type_source_package_and_distro(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "library", "name": "libssl3", "version": "3.0.11-1~deb12u2",
         "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
                 "&upstream=openssl"},
        {"type": "library", "name": "jackson-databind", "version": "2.9.8",
         "purl": "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.8"},
        {"type": "library", "name": "no-version"},
        {"type": "library", "name": "weird", "version": "1", "purl": "not a purl"},
    ]}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom))
    inventory = read_sbom(path)
    assert inventory.format == "cyclonedx"
    assert inventory.distro is not None
    assert (inventory.distro.family, inventory.distro.version) == ("debian", "12")
    by_name = {p.name: p for p in inventory.packages}
    assert sorted(by_name) == ["com.fasterxml.jackson.core:jackson-databind", "libssl3"]
    ssl = by_name["libssl3"]
    assert (ssl.type, ssl.source_name, ssl.source_version) == ("deb", "openssl",
                                                               "3.0.11-1~deb12u2")
    assert by_name["com.fasterxml.jackson.core:jackson-databind"].type == "java-archive"


def test_spdx_source_info_gives_the_source_version(tmp_path: Path) -> None:
    doc = {"spdxVersion": "SPDX-2.3", "packages": [
        {"name": "debian", "versionInfo": "12.4", "primaryPackagePurpose": "OPERATING-SYSTEM"},
        {"name": "libc6", "versionInfo": "2.36-9+deb12u3",
         "sourceInfo": "found by dpkg; built from source package glibc 2.36-9+deb12u3",
         "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                           "referenceLocator": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3"}]},
    ]}
    path = tmp_path / "doc.spdx.json"
    path.write_text(json.dumps(doc))
    inventory = read_sbom(path)
    assert inventory.distro is not None and inventory.distro.version == "12.4"
    (libc,) = inventory.packages
    assert (libc.source_name, libc.source_version) == ("glibc", "2.36-9+deb12u3")
