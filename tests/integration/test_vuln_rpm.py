"""RPM distributions end to end: a kit image with an AlmaLinux os-release and a real rpm SQLite
database (tests/analyzers/data/rpm/avahi-*, written by rpm; see the README there), the real CLI
in a child process, the session's database built from real AlmaLinux OSV records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.images import kit

RPM_DATA = Path(__file__).parents[1] / "analyzers" / "data" / "rpm"
ALMA = 'NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="{v}"\n'


def _image(tmp_path: Path, os_version: str, avahi: str) -> str:
    rpmdb = (RPM_DATA / f"avahi-{avahi}" / "rpmdb.sqlite").read_bytes()
    layers = [
        kit.Layer([kit.file("etc/os-release", ALMA.format(v=os_version))]),
        kit.Layer([kit.file("var/lib/rpm/rpmdb.sqlite", rpmdb)],
                  created_by="RUN dnf install -y avahi"),
    ]
    layout = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{layout}:t"


def _scan(ref: str) -> dict:  # type: ignore[type-arg]
    proc = run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "vuln")
    assert proc.returncode == 0, proc.stderr
    doc: dict = json.loads(proc.stdout)  # type: ignore[type-arg]
    assert doc["scanners"]["vuln"]["status"] == "ok"
    return doc


def _vulns(doc: dict) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {(f["package_name"], f["id"]): f for f in doc["findings"]
            if f["kind"] == "vulnerability"}


def test_an_old_rpm_on_almalinux_9_has_its_advisory(tmp_path: Path) -> None:
    doc = _scan(_image(tmp_path, "9.3", "0.8-12.el9"))
    assert doc["artifact"]["os"]["family"] == "alma"
    found = _vulns(doc)
    assert list(found) == [("avahi", "ALSA-2024:2433")]
    avahi = found[("avahi", "ALSA-2024:2433")]
    assert avahi["fixed_versions"] == ["0.8-20.el9"]
    assert avahi["installed_version"] == "0.8-12.el9"
    assert avahi["ecosystem"] == "AlmaLinux:9"
    assert avahi["status"] == "fixed"
    assert avahi["layer"] == 1
    assert avahi["path"] == "/var/lib/rpm/rpmdb.sqlite"
    assert not [w for w in doc["warnings"] if "not checked for vulnerabilities" in w["message"]]


def test_the_fixed_rpm_has_none(tmp_path: Path) -> None:
    assert _vulns(_scan(_image(tmp_path, "9.3", "0.8-20.el9"))) == {}


@pytest.mark.parametrize("os_version", ["8.9", "10.0"])
def test_another_release_never_takes_the_almalinux_9_record(tmp_path: Path,
                                                            os_version: str) -> None:
    assert _vulns(_scan(_image(tmp_path, os_version, "0.8-12.el9"))) == {}
