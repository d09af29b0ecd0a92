"""Native distro feeds end to end: ``db update --debian-tracker/--alpine-secdb`` from files,
then the real CLI scanning images the kit writes (a Debian 10 dpkg status, an Alpine 3.15 apk
database) in JSON and table form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.fixtures import DATA, fixture_path
from tests.images import kit
from tests.osv_exports import export_zip, osv_record

DPKG = ("Package: chromium\nStatus: install ok installed\nPriority: optional\n"
        "Architecture: amd64\nVersion: 89.0.4389.114-1~deb10u1\n\n"
        "Package: libsope1\nStatus: install ok installed\nArchitecture: amd64\n"
        "Source: sope\nVersion: 4.9.r1664-1\n\n")
APK = "P:zlib\nV:1.2.11-r3\nA:x86_64\no:zlib\n\n"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("feeds")
    (root / "mirror" / "PyPI").mkdir(parents=True)
    (root / "mirror" / "PyPI" / "all.zip").write_bytes(export_zip(
        {"PYSEC-2023-74.json": osv_record("PyPI", "PYSEC-2023-74")}))
    tracker = fixture_path(DATA / "distro-advisories/debian/security-tracker-json-subset.json")
    secdb = fixture_path(DATA / "distro-advisories/alpine/secdb-v3.15-main-subset.yaml")
    path = root / "vuln.db"
    proc = run_cli("db", "update", "--db", str(path), "--source", str(root / "mirror"),
                   "--ecosystems", "PyPI", "--debian-tracker", str(tracker),
                   "--alpine-secdb", f"file://{secdb}", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return path


def _image(tmp_path: Path, os_release: str, db_file: str, content: str) -> str:
    layers = [kit.Layer([kit.file("etc/os-release", os_release), kit.file(db_file, content)])]
    layout = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{layout}:t"


def _scan(ref: str, db: Path, fmt: str = "json") -> str:
    proc = run_cli("scan", ref, "--db", str(db), "--format", fmt, "--quiet", "--scanners",
                   "packages,vuln")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_debian_10_image_gets_the_trackers_status(db: Path, tmp_path: Path) -> None:
    ref = _image(tmp_path, 'ID=debian\nVERSION_ID="10"\nVERSION_CODENAME=buster\n',
                 "var/lib/dpkg/status", DPKG)
    doc = json.loads(_scan(ref, db))
    found = {(f["package_name"], f["id"]): f for f in doc["findings"]
             if f["kind"] == "vulnerability"}
    # sope is tracked for bullseye, bookworm, trixie and sid only: nothing for buster.
    assert list(found) == [("chromium", "CVE-2022-0456")]
    chromium = found[("chromium", "CVE-2022-0456")]
    assert (chromium["status"], chromium["fixed_versions"]) == ("will-not-fix", [])
    assert chromium["ecosystem"] == "Debian:10"
    table = _scan(ref, db, "table")
    row = next(line for line in table.splitlines() if "CVE-2022-0456" in line)
    assert "will not fix" in row


def test_an_alpine_image_gets_the_secdb_fixes(db: Path, tmp_path: Path) -> None:
    ref = _image(tmp_path, "ID=alpine\nVERSION_ID=3.15.4\n", "lib/apk/db/installed", APK)
    doc = json.loads(_scan(ref, db))
    found = {f["id"]: (f["fixed_versions"], f["status"]) for f in doc["findings"]
             if f["kind"] == "vulnerability"}
    assert found == {"CVE-2018-25032": (["1.2.12-r0"], "fixed"),
                     "CVE-2022-37434": (["1.2.12-r2"], "fixed")}
