"""OS detection over real release files from many distro images (tests/data)."""

from __future__ import annotations

import pytest

from portcullis.analyze.os_release import detect
from tests.fixtures import DATA, fixture_path
from tests.images import kit
from tests.unit.layer_helpers import view_of

FIXTURES = DATA / "os-release"

EXPECTED = {
    "alpine/3.18": ("alpine", "3.18.4", None),
    "alpine/edge": ("alpine", "3.19_alpha20230901", None),
    "debian/7": ("debian", "7", "wheezy"),
    "debian/12": ("debian", "12", "bookworm"),
    "distroless-debian/11": ("debian", "11", "bullseye"),
    "syft-set/almalinux/from-os-release": ("alma", "8.4", None),
    "syft-set/almalinux/from-redhat-release": ("alma", "8.10", None),
    "syft-set/amazon": ("amazon", "2", None),
    "syft-set/centos": ("centos", "8", None),
    "syft-set/centos5": ("centos", "5.7", None),
    "syft-set/centos6": ("centos", "6", None),
    "syft-set/debian/from-debian_version": ("debian", "10", None),
    "syft-set/debian/from-os-release": ("debian", "8", "jessie"),
    "syft-set/debian/with-point-release": ("debian", "13", "trixie"),
    "syft-set/fedora": ("fedora", "36", None),
    "syft-set/mariner": ("mariner", "1.0", None),
    "syft-set/opensuse-leap": ("opensuse", "15.2", None),
    "syft-set/oraclelinux": ("oracle", "8.3", None),
    "syft-set/photon": ("photon", "2.0", None),
    "syft-set/redhat/from-os-release": ("redhat", "7.3", None),
    "syft-set/redhat/from-redhat-release": ("redhat", "8.10", None),
    "syft-set/rockylinux/from-os-release": ("rocky", "8.4", None),
    "syft-set/sles": ("suse", "15.2", None),
    "syft-set/ubuntu": ("ubuntu", "20.04", "focal"),
    "syft-set/wolfi": ("wolfi", "20220914", None),
    "ubuntu/10.04": ("ubuntu", "10.04", "lucid"),
    "ubuntu/22.04": ("ubuntu", "22.04", "jammy"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detects_real_release_files(name: str) -> None:
    root = fixture_path(FIXTURES / name)
    files = [kit.file(str(f.relative_to(root)), f.read_bytes())
             for f in sorted(root.rglob("*")) if f.is_file()]
    distro = detect(view_of([kit.Layer(files)]))
    assert distro is not None
    assert (distro.family, distro.version, distro.version_codename) == EXPECTED[name]
