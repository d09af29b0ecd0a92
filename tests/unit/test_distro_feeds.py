"""Native distribution feeds beside OSV: the Debian security tracker JSON and Alpine secdb
files (real samples in tests/data/distro-advisories), read into records, built into a real
database with real OSV records, and matched: per-release status and urgency, per-branch fixed
versions, and one finding when two sources describe the same flaw."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import yaml

from portcullis.errors import VulnDBError
from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.finding import Finding, Severity
from portcullis.model.package import Package
from portcullis.vulndb import alpine_secdb, debian_tracker
from portcullis.vulndb.build import Download, build, now_utc
from portcullis.vulndb.match import match_packages
from portcullis.vulndb.osv import Record, Skip
from portcullis.vulndb.store import VulnStore
from tests.fixtures import DATA, fixture_path
from tests.osv_exports import export_zip, osv_record

TRACKER = DATA / "distro-advisories" / "debian" / "security-tracker-json-subset.json"
ALPINE = DATA / "distro-advisories" / "alpine"


def _records(items: Iterator[Record | Skip]) -> dict[str, Record]:
    out = {}
    for item in items:
        assert isinstance(item, Record), item
        out[item.id] = item
    return out


def _tracker() -> dict[str, Record]:
    return _records(debian_tracker.iter_records(fixture_path(TRACKER).read_bytes(), "t", "now"))


def _by_release(record: Record) -> dict[str, tuple[list[dict[str, str]], Any]]:
    return {a.package.ecosystem: ([msgspec.to_builtins(e) for r in a.ranges for e in r.events],
                                  a.ecosystem_specific)
            for a in record.affected if a.package is not None}


def test_the_tracker_gives_one_record_per_package_and_issue_with_release_status() -> None:
    records = _tracker()
    # CVE-2007-2383 is "resolved" with fixed_version 0 everywhere: never affected, no record.
    # chromium-browser's issue has "releases": [] (as the real file writes an empty map).
    assert sorted(records) == [
        "DEBIAN-TRACKER:CVE-2005-3111:backupninja", "DEBIAN-TRACKER:CVE-2008-7220:prototypejs",
        "DEBIAN-TRACKER:CVE-2013-1444:txt2man", "DEBIAN-TRACKER:CVE-2022-0456:chromium",
        "DEBIAN-TRACKER:CVE-2025-53603:sope"]
    sope = records["DEBIAN-TRACKER:CVE-2025-53603:sope"]
    assert sope.aliases == ["CVE-2025-53603"]
    assert sope.summary.startswith("In Alinto SOPE SOGo 2.0.2 through 5.12.2")
    assert _by_release(sope) == {  # sid has no release number and is left out
        "Debian:11": ([{"introduced": "0"}, {"fixed": "5.0.1-2+deb11u1"}], {"status": "resolved"}),
        "Debian:12": ([{"introduced": "0"}, {"fixed": "5.8.0-1+deb12u1"}], {"status": "resolved"}),
        "Debian:13": ([{"introduced": "0"}, {"fixed": "5.12.1-2"}], {"status": "resolved"}),
    }
    chromium = _by_release(records["DEBIAN-TRACKER:CVE-2022-0456:chromium"])
    # buster and stretch: "open" with urgency end-of-life: no fix will come.
    assert chromium["Debian:10"] == ([{"introduced": "0"}], {"status": "end-of-life"})
    assert chromium["Debian:9"] == ([{"introduced": "0"}], {"status": "end-of-life"})
    # "high**" (a guessed urgency) is still the distribution's rating.
    assert _by_release(records["DEBIAN-TRACKER:CVE-2008-7220:prototypejs"])["Debian:10"][1] == {
        "status": "resolved", "urgency": "high"}


@pytest.mark.parametrize(("entry", "status"), [
    ({"status": "open", "urgency": "low"}, "open"),
    ({"status": "undetermined"}, "undetermined"),
    ({"status": "open", "nodsa": "Minor issue", "nodsa_reason": ""}, "no-dsa"),
    ({"status": "open", "nodsa": "Minor issue", "nodsa_reason": "ignored"}, "ignored"),
    ({"status": "open", "nodsa": "Minor issue", "nodsa_reason": "postponed"}, "postponed"),
    ({"status": "open", "urgency": "end-of-life"}, "end-of-life"),
    ({"status": "resolved", "fixed_version": "1.0-1", "nodsa": "x"}, "resolved"),
])
def test_tracker_release_fields_give_the_status(entry: dict[str, str], status: str) -> None:
    """The tracker's release fields as its JSON export writes them (status, urgency, and
    nodsa/nodsa_reason for the issues it will not issue an advisory for)."""
    release = msgspec.json.decode(msgspec.json.encode(entry), type=debian_tracker._Release)
    assert debian_tracker.status_of(release) == status


@pytest.mark.parametrize("data", [b"", b"[1]", b'{"pkg": 3'])
def test_a_file_that_is_not_the_tracker_json_is_one_error(data: bytes) -> None:
    with pytest.raises(VulnDBError, match="not the Debian security tracker JSON"):
        list(debian_tracker.iter_records(data, "tracker.json", "now"))


def test_a_malformed_package_is_skipped_not_fatal() -> None:
    data = b'{"a": 3, "b": {}, "c": {"CVE-1": {"releases": [1]}}, "d": [1]}'
    items = list(debian_tracker.iter_records(data, "tracker.json", "now"))
    assert [str(i) for i in items] == [
        "tracker.json:a: not a tracker package entry: Expected `object | array`, got `int`",
        "tracker.json:c (CVE-1): releases is a non-empty list",
        "tracker.json:d: expected an object of issues, got a list"]


def _secdb(name: str) -> dict[str, Record]:
    path = fixture_path(ALPINE / name)
    return _records(alpine_secdb.iter_records(path.read_bytes(), name, "now"))


def test_alpine_secdb_gives_fixed_versions_per_branch() -> None:
    records = _secdb("secdb-v3.15-main-subset.yaml")
    zlib = {rid: _by_release(r) for rid, r in records.items() if ":zlib:" in rid}
    assert zlib == {
        "ALPINE-SECDB:v3.15:zlib:CVE-2018-25032": {
            "Alpine:v3.15": ([{"introduced": "0"}, {"fixed": "1.2.12-r0"}], None)},
        "ALPINE-SECDB:v3.15:zlib:CVE-2022-37434": {
            "Alpine:v3.15": ([{"introduced": "0"}, {"fixed": "1.2.12-r2"}], None)},
    }
    assert records["ALPINE-SECDB:v3.15:zlib:CVE-2022-37434"].aliases == ["CVE-2022-37434"]


def test_a_complete_secdb_file_has_a_record_per_package_and_issue() -> None:
    """Alpine secdb v3.11 main as published: the count read here by PyYAML's own loader."""
    raw = fixture_path(ALPINE / "secdb-v3.11-main.yaml").read_bytes()
    doc = yaml.safe_load(raw)
    expected = {(p["pkg"]["name"], issue)
                for p in doc["packages"]
                for version, ids in (p["pkg"].get("secfixes") or {}).items()
                if str(version) != "0" for entry in ids for issue in str(entry).split()}
    records = _secdb("secdb-v3.11-main.yaml")
    assert {(rid.split(":")[2], rid.split(":", 3)[3]) for rid in records} == expected
    assert all(r.affected[0].package is not None
               and r.affected[0].package.ecosystem == "Alpine:v3.11" for r in records.values())


@pytest.mark.parametrize(("data", "why"), [
    (b"just text", "no packages list"),
    (b"packages: [\n", "not an Alpine secdb file"),
    (b'{"distroversion": "3.15", "packages": []}', "distroversion '3.15'"),
])
def test_a_file_that_is_not_a_secdb_is_one_error(data: bytes, why: str) -> None:
    with pytest.raises(VulnDBError, match=why):
        list(alpine_secdb.iter_records(data, "main.yaml", "now"))


# ------------------------------------------------------------------ built and matched


def _osv_debian_record_from_tracker() -> bytes:
    """The OSV record Debian's OSV export gives for chromium CVE-2022-0456, written here from the
    tracker entry above the way that export converts it (no Debian OSV record is among the
    fixtures): a fixed version where the tracker has one, and an open range where it has none,
    with no word on why (the export drops the end-of-life reason)."""
    entry = msgspec.json.decode(fixture_path(TRACKER).read_bytes())["chromium"]["CVE-2022-0456"]
    affected = []
    for codename, release in sorted(entry["releases"].items()):
        if codename not in debian_tracker.RELEASES:
            continue
        events: list[dict[str, str]] = [{"introduced": "0"}]
        if release.get("fixed_version"):
            events.append({"fixed": release["fixed_version"]})
        affected.append({"package": {"ecosystem": f"Debian:{debian_tracker.RELEASES[codename]}",
                                     "name": "chromium"},
                         "ranges": [{"type": "ECOSYSTEM", "events": events}]})
    return msgspec.json.encode({"id": "DEBIAN-CVE-2022-0456", "modified": "2024-01-01T00:00:00Z",
                                "upstream": ["CVE-2022-0456"], "affected": affected})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VulnStore]:
    work = tmp_path_factory.mktemp("feeds")
    osv = work / "Debian.zip"
    osv.write_bytes(export_zip({"DEBIAN-CVE-2022-0456.json": _osv_debian_record_from_tracker(),
                                "GHSA-j8r2-6x86-q33q.json": osv_record("PyPI",
                                                                       "GHSA-j8r2-6x86-q33q")}))
    downloads = [Download("Debian", "http://127.0.0.1/Debian/all.zip", osv, now_utc(), None,
                          osv.stat().st_size)]
    for kind, path in ((debian_tracker.SOURCE, TRACKER),
                       (alpine_secdb.SOURCE, ALPINE / "secdb-v3.15-main-subset.yaml"),
                       (alpine_secdb.SOURCE, ALPINE / "secdb-v3.11-main.yaml")):
        local = fixture_path(path)
        downloads.append(Download(kind, str(local), local, now_utc(), None,
                                  local.stat().st_size, kind=kind))
    result = build(work / "vuln.db", downloads)
    assert [s.ecosystem for s in result.meta.sources] == [
        "Debian", "debian-tracker", "alpine-secdb", "alpine-secdb"]
    with VulnStore(work / "vuln.db") as opened:
        yield opened


def _found(store: VulnStore, distro: Distro, name: str, version: str,
           source: str | None = None) -> dict[str, Finding]:
    package = Package(name=name, version=version, type="apk" if distro.family == "alpine"
                      else "deb", source_name=source, source_version=version if source else None,
                      purl=f"pkg:x/{name}@{version}", locations=(Location(path="/p", layer=0),))
    return {f.id: f for f in match_packages([package], distro, store).findings}


BOOKWORM = Distro(family="debian", name="Debian GNU/Linux", version="12")
BULLSEYE = Distro(family="debian", name="Debian GNU/Linux", version="11")
BUSTER = Distro(family="debian", name="Debian GNU/Linux", version="10")


def test_a_debian_package_matches_the_tracker_by_source_and_release(store: VulnStore) -> None:
    found = _found(store, BOOKWORM, "libsope1", "5.8.0-1", source="sope")
    assert list(found) == ["CVE-2025-53603"]
    assert found["CVE-2025-53603"].extra["fixed_versions"] == ["5.8.0-1+deb12u1"]
    assert found["CVE-2025-53603"].extra["status"] == "fixed"
    assert found["CVE-2025-53603"].extra["records"] == ["DEBIAN-TRACKER:CVE-2025-53603:sope"]
    assert _found(store, BOOKWORM, "libsope1", "5.8.0-1+deb12u1", source="sope") == {}
    # bullseye's fix is older than bookworm's: the release decides which applies.
    assert _found(store, BULLSEYE, "libsope1", "5.0.1-2+deb11u1", source="sope") == {}
    assert list(_found(store, BULLSEYE, "libsope1", "5.0.1-2", source="sope")) == [
        "CVE-2025-53603"]


def test_the_urgency_is_the_severity(store: VulnStore) -> None:
    found = _found(store, BUSTER, "libjs-prototype", "1.6.0.1-1", source="prototypejs")
    assert found["CVE-2008-7220"].severity is Severity.HIGH
    assert found["CVE-2008-7220"].extra["severity_source"] == "distro"


def test_both_sources_are_one_finding_with_the_richer_status(store: VulnStore) -> None:
    """Buster's chromium: OSV says affected with no fix, the tracker says why: end-of-life."""
    found = _found(store, BUSTER, "chromium", "89.0.4389.114-1~deb10u1", source="chromium")
    assert list(found) == ["CVE-2022-0456"]
    finding = found["CVE-2022-0456"]
    assert finding.extra["records"] == ["DEBIAN-CVE-2022-0456",
                                        "DEBIAN-TRACKER:CVE-2022-0456:chromium"]
    assert finding.extra["status"] == "will-not-fix"
    assert finding.extra["fixed_versions"] == []
    # In bullseye both give the same fix: one finding, fixed.
    bullseye = _found(store, BULLSEYE, "chromium", "90.0.4430.212-1", source="chromium")
    assert [(k, f.extra["status"], f.extra["fixed_versions"]) for k, f in bullseye.items()] == [
        ("CVE-2022-0456", "fixed", ["98.0.4758.80-1~deb11u1"])]


def test_an_alpine_package_matches_its_branch_only(store: VulnStore) -> None:
    v315 = Distro(family="alpine", name="Alpine Linux", version="3.15.4")
    found = _found(store, v315, "zlib", "1.2.11-r3")
    assert {k: f.extra["fixed_versions"] for k, f in found.items()} == {
        "CVE-2018-25032": ["1.2.12-r0"], "CVE-2022-37434": ["1.2.12-r2"]}
    assert list(_found(store, v315, "zlib", "1.2.12-r0")) == ["CVE-2022-37434"]
    assert _found(store, v315, "zlib", "1.2.12-r2") == {}
    # 3.11's file has musl fixes and no zlib; 3.15's subset the reverse; 3.16 has no file.
    v311 = Distro(family="alpine", name="Alpine Linux", version="3.11.3")
    assert _found(store, v311, "zlib", "1.2.11-r3") == {}
    assert {k: f.extra["fixed_versions"] for k, f in _found(
        store, v311, "musl", "1.1.15-r3").items()} == {
        "CVE-2016-8859": ["1.1.15-r4"], "CVE-2019-14697": ["1.1.23-r2"]}
    assert list(_found(store, v311, "musl", "1.1.23-r1")) == ["CVE-2019-14697"]
    assert _found(store, v315, "musl", "1.1.15-r3") == {}
    v316 = Distro(family="alpine", name="Alpine Linux", version="3.16.0")
    assert _found(store, v316, "zlib", "1.2.11-r3") == {}
