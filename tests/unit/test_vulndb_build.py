"""Building the vulnerability database from real OSV records, and reading it back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from portcullis.errors import VulnDBError
from portcullis.vulndb.build import BuildResult, Download, build, now_utc
from portcullis.vulndb.names import normalize_name, split_ecosystem
from portcullis.vulndb.osv import Skip, decode_record
from portcullis.vulndb.store import SCHEMA, VulnStore
from tests.osv_exports import ecosystem_zip, export_zip, osv_record

ECOSYSTEMS = ["PyPI", "npm", "Go", "crates.io", "Ubuntu"]


def _build(tmp_path: Path, zips: dict[str, bytes]) -> tuple[Path, BuildResult]:
    downloads = []
    for eco, data in zips.items():
        path = tmp_path / f"{eco}.zip"
        path.write_bytes(data)
        downloads.append(Download(eco, f"http://127.0.0.1/{eco}/all.zip", path, now_utc(),
                                  None, len(data)))
    db = tmp_path / "vuln.db"
    return db, build(db, downloads)


@pytest.fixture
def store(tmp_path: Path) -> VulnStore:
    db, _ = _build(tmp_path, {eco: ecosystem_zip(eco) for eco in ECOSYSTEMS})
    return VulnStore(db)


def test_every_record_is_stored_once_with_its_counts(store: VulnStore) -> None:
    meta = store.meta()
    assert meta.schema == SCHEMA
    assert meta.vulnerabilities == 9
    assert meta.skipped == 0
    assert [s.ecosystem for s in meta.sources] == ECOSYSTEMS
    assert {s.ecosystem: s.records for s in meta.sources} == {
        "PyPI": 2, "npm": 2, "Go": 2, "crates.io": 1, "Ubuntu": 2}
    assert meta.affected > meta.vulnerabilities  # Ubuntu records list several releases


def test_pypi_names_are_found_however_spelled(store: VulnStore) -> None:
    ids = {row.vuln_id for row in store.affected_for("PyPI", "Requests")}
    assert ids == {"GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"}
    row = next(r for r in store.affected_for("PyPI", "requests")
               if r.vuln_id == "PYSEC-2023-74")
    assert row.package_name == "requests" and row.ecosystem == "PyPI" and not row.withdrawn
    events = [e for r in row.ranges for e in r.events]
    assert any(e.fixed == "2.31.0" for e in events)
    assert "2.30.0" in row.versions


def test_crate_names_treat_dash_and_underscore_alike(store: VulnStore) -> None:
    assert [r.vuln_id for r in store.affected_for("crates.io", "lock-api")] == [
        "RUSTSEC-2020-0070"]


def test_npm_and_go_names_are_exact(store: VulnStore) -> None:
    assert {r.vuln_id for r in store.affected_for("npm", "lodash")} == {
        "GHSA-jf85-cpcp-j695", "GHSA-35jh-r3h4-6jhm"}
    assert store.affected_for("npm", "Lodash") == []
    assert [r.vuln_id for r in store.affected_for("Go", "github.com/gin-gonic/gin")] == [
        "GO-2020-0001"]


def test_a_release_never_sees_another_release(store: VulnStore) -> None:
    jammy = store.affected_for("Ubuntu:22.04", "curl")
    assert {r.vuln_id for r in jammy} == {"UBUNTU-CVE-2023-38545", "USN-6429-1"}
    assert {r.release for r in jammy} == {"22.04:LTS"}
    assert {r.ecosystem for r in jammy} == {"Ubuntu:22.04:LTS"}
    focal = store.affected_for("Ubuntu:20.04:LTS", "curl")
    assert focal and {r.release for r in focal} == {"20.04:LTS"}
    assert store.affected_for("Ubuntu:22.10", "curl") == []
    everywhere = store.affected_for("Ubuntu", "curl")
    assert {r.release for r in everywhere} >= {"20.04:LTS", "22.04:LTS"}


def test_withdrawn_records_are_kept_and_flagged(store: VulnStore) -> None:
    rows = store.affected_for("Go", "github.com/gravitational/teleport")
    assert [(r.vuln_id, r.withdrawn) for r in rows] == [("GO-2024-2442", True)]
    vuln = store.vulnerability("GO-2024-2442")
    assert vuln is not None and vuln.withdrawn == "2024-01-23T12:50:23Z"
    assert store.meta().withdrawn == 1


def test_vulnerability_and_aliases(store: VulnStore) -> None:
    vuln = store.vulnerability("GHSA-j8r2-6x86-q33q")
    assert vuln is not None
    assert "CVE-2023-32681" in vuln.aliases
    assert vuln.severity and vuln.severity[0].type.startswith("CVSS_V3")
    assert store.ids_for_alias("CVE-2023-32681") == ["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"]
    assert store.vulnerability("NOPE-1") is None


def test_records_of_the_wrong_shape_are_skipped_and_counted(tmp_path: Path) -> None:
    good = json.loads(osv_record("npm", "GHSA-jf85-cpcp-j695"))
    wrong = dict(good, id="GHSA-wrong-shape", affected={"package": "lodash"})
    bad_event = json.loads(osv_record("npm", "GHSA-35jh-r3h4-6jhm"))
    bad_event["affected"][0]["ranges"][0]["events"] = [{"introduced": "0", "fixed": "1"}]
    zips = {"npm": export_zip({
        "GHSA-jf85-cpcp-j695.json": json.dumps(good).encode(),
        "GHSA-wrong-shape.json": json.dumps(wrong).encode(),
        "GHSA-35jh-r3h4-6jhm.json": json.dumps(bad_event).encode(),
        "garbage.json": b"{not json",
    })}
    db, result = _build(tmp_path, zips)
    assert result.meta.skipped == 3
    assert result.meta.vulnerabilities == 1
    by_member = {s.member: s for s in result.skips}
    assert set(by_member) == {"GHSA-wrong-shape.json", "GHSA-35jh-r3h4-6jhm.json",
                              "garbage.json"}
    assert by_member["GHSA-wrong-shape.json"].record_id == "GHSA-wrong-shape"
    assert "$.affected" in by_member["GHSA-wrong-shape.json"].reason
    assert "exactly one" in by_member["GHSA-35jh-r3h4-6jhm.json"].reason
    assert by_member["garbage.json"].record_id is None
    assert str(by_member["garbage.json"]).startswith("npm:garbage.json: ")
    with VulnStore(db) as store:
        assert [r.vuln_id for r in store.affected_for("npm", "lodash")] == [
            "GHSA-jf85-cpcp-j695"]
        assert store.meta().sources[0].skipped == 3


def test_a_record_in_two_exports_is_stored_once_newest_wins(tmp_path: Path) -> None:
    record = json.loads(osv_record("PyPI", "GHSA-j8r2-6x86-q33q"))
    older = dict(record, modified="2000-01-01T00:00:00Z", summary="old copy")
    zips = {"PyPI": export_zip({"GHSA-j8r2-6x86-q33q.json": json.dumps(older).encode()}),
            "Other": export_zip({"GHSA-j8r2-6x86-q33q.json": json.dumps(record).encode()})}
    db, result = _build(tmp_path, zips)
    with VulnStore(db) as store:
        assert result.meta.vulnerabilities == 1
        vuln = store.vulnerability("GHSA-j8r2-6x86-q33q")
        assert vuln is not None and vuln.summary == record["summary"]
        assert vuln.source == "Other"
        assert len(store.affected_for("PyPI", "requests")) == len(record["affected"])


def test_unknown_fields_are_tolerated() -> None:
    record = json.loads(osv_record("Ubuntu", "USN-6429-1"))
    record["some_future_field"] = {"x": 1}
    record["affected"][0]["package"]["future"] = True
    decoded = decode_record(json.dumps(record).encode())
    assert decoded.id == "USN-6429-1" and decoded.upstream


def test_a_corrupt_member_fails_the_build(tmp_path: Path) -> None:
    data = bytearray(ecosystem_zip("PyPI"))
    # Flip a byte inside the first member's compressed data (after its 30-byte local header
    # and name): the CRC (or inflate) check must catch it.
    name_len = int.from_bytes(data[26:28], "little")
    data[30 + name_len + 20] ^= 0xFF
    with pytest.raises(VulnDBError, match="corrupt zip member"):
        _build(tmp_path, {"PyPI": bytes(data)})


def test_not_a_zip_fails_the_build(tmp_path: Path) -> None:
    with pytest.raises(VulnDBError, match="not a readable zip"):
        _build(tmp_path, {"PyPI": b"<html>rate limited</html>"})


def test_opening_what_is_not_a_database_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(VulnDBError, match="no vulnerability database"):
        VulnStore(tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 4096)
    with pytest.raises(VulnDBError, match="not a Portcullis vulnerability database"):
        VulnStore(junk)


@pytest.mark.parametrize(("ecosystem", "name", "key"), [
    ("PyPI", "Flask__Caching", "flask-caching"),
    ("PyPI", "zope.interface", "zope-interface"),
    ("NuGet", "Newtonsoft.Json", "newtonsoft.json"),
    ("Packagist", "Symfony/HTTP-Kernel", "symfony/http-kernel"),
    ("crates.io", "Lock_Api", "lock-api"),
    ("Debian:12", "OpenSSL", "openssl"),
    ("npm", "JSONStream", "JSONStream"),
    ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
    ("Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"),
    ("AlmaLinux:8", "NetworkManager", "NetworkManager"),
])
def test_name_normalisation(ecosystem: str, name: str, key: str) -> None:
    assert normalize_name(ecosystem, name) == key


def test_split_ecosystem() -> None:
    assert split_ecosystem("Ubuntu:Pro:18.04:LTS") == ("Ubuntu", "Pro:18.04:LTS")
    assert split_ecosystem("Alpine:v3.18") == ("Alpine", "v3.18")
    assert split_ecosystem("PyPI") == ("PyPI", "")


def test_skip_names_where_and_what() -> None:
    skip = Skip("PyPI", "X.json", "PYSEC-1", "why")
    assert str(skip) == "PyPI:X.json (PYSEC-1): why"


def test_a_database_of_another_schema_is_refused(tmp_path: Path) -> None:
    db, _ = _build(tmp_path, {"npm": ecosystem_zip("npm")})
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema'")
    conn.close()
    with pytest.raises(VulnDBError, match=r"has database schema 999, this version reads 1"):
        VulnStore(db)
