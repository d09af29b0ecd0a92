"""NVD CVE JSON 2.0 enrichment on real NVD data (tests/data/nvd): one vector per CVE, the
newest CVSS version and NVD's primary score first, and the matcher rating a finding by it only
when its records carry no CVSS."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from portcullis.errors import VulnDBError
from portcullis.model.files import Location
from portcullis.model.finding import Finding, Severity
from portcullis.model.package import Package
from portcullis.vulndb.build import Download, build, now_utc
from portcullis.vulndb.match import match_packages
from portcullis.vulndb.nvd import NvdRow, parse_nvd
from portcullis.vulndb.store import VulnStore
from tests.fixtures import DATA, fixture_path
from tests.osv_exports import export_zip, osv_record

NVD = DATA / "nvd"


def _read(name: str) -> bytes:
    return fixture_path(NVD / name).read_bytes()


def test_a_response_page_gives_a_vector_for_every_cve_nvd_scored() -> None:
    data = _read("api-2.0-pages/cves-page-38.json")
    doc = json.loads(data)
    scored = {v["cve"]["id"] for v in doc["vulnerabilities"] if v["cve"].get("metrics")}
    nvd = parse_nvd(data, "page.json")
    assert nvd.version == doc["timestamp"]
    assert {r.cve for r in nvd.rows} == scored and len(scored) == 35
    assert all(r.type == "CVSS_V3" and r.vector.startswith("CVSS:3.1/") for r in nvd.rows)


def test_the_newest_cvss_version_wins() -> None:
    """CVE-2022-1576 has a v3.1 and a v2 score: the v3.1 vector is kept."""
    nvd = parse_nvd(_read("api-2.0-pages/cves-page-single-CVE-2022-1576.json"), "p.json")
    metrics = json.loads(_read("api-2.0-pages/cves-page-single-CVE-2022-1576.json"))[
        "vulnerabilities"][0]["cve"]["metrics"]
    assert nvd.rows == (NvdRow("CVE-2022-1576", "CVSS_V3",
                               metrics["cvssMetricV31"][0]["cvssData"]["vectorString"]),)


def test_one_cve_object_gzip_or_not() -> None:
    data = _read("CVE-2023-32681.json")
    primary = [m for m in json.loads(data)["metrics"]["cvssMetricV31"] if m["type"] == "Primary"]
    expected = (NvdRow("CVE-2023-32681", "CVSS_V3", primary[0]["cvssData"]["vectorString"]),)
    assert parse_nvd(data, "cve.json").rows == expected
    assert parse_nvd(gzip.compress(data), "cve.json.gz").rows == expected


@pytest.mark.parametrize(("data", "why"), [
    (b"<html>", "not NVD CVE JSON 2.0"),
    (b'{"format": "NVD_CVE"}', "neither a `vulnerabilities` list nor a CVE `id`"),
    (b'{"vulnerabilities": [{"cve": {"metrics": {}}}]}', "not NVD CVE JSON 2.0"),
    (gzip.compress(b"{}")[:-6], "not readable gzip"),
])
def test_bad_input_is_one_error_naming_the_file(data: bytes, why: str) -> None:
    with pytest.raises(VulnDBError, match=f"NVD file feed.json: .*{why}"):
        parse_nvd(data, "feed.json")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, VulnStore]]:
    """PYSEC-2023-74 carries no CVSS; GHSA-j8r2-6x86-q33q, about the same flaw, does."""
    work = tmp_path_factory.mktemp("nvd")
    nvd = parse_nvd(_read("CVE-2023-32681.json"), "cve.json")
    out = {}
    for name, ids in (("pysec", ["PYSEC-2023-74"]), ("both", ["PYSEC-2023-74",
                                                              "GHSA-j8r2-6x86-q33q"])):
        path = work / f"{name}.zip"
        path.write_bytes(export_zip({f"{i}.json": osv_record("PyPI", i) for i in ids}))
        downloads = [Download("PyPI", "http://127.0.0.1/PyPI/all.zip", path, now_utc(), None, 1)]
        for loaded in (True, False):
            db = work / f"{name}-{loaded}.db"
            build(db, downloads, nvd=[nvd] if loaded else [])
            out[f"{name}{'+nvd' if loaded else ''}"] = VulnStore(db)
    yield out
    for store in out.values():
        store.close()


def _requests(store: VulnStore) -> Finding:
    package = Package(name="requests", version="2.30.0", type="python",
                      purl="pkg:pypi/requests@2.30.0", locations=(Location(path="/p", layer=0),))
    (finding,) = match_packages([package], None, store).findings
    return finding


def test_nvd_rates_a_finding_whose_records_have_no_cvss(stores: dict[str, VulnStore]) -> None:
    bare = _requests(stores["pysec"])
    assert (bare.severity, bare.extra["severity_source"], bare.extra["cvss"]) == (
        Severity.UNKNOWN, "none", None)
    rated = _requests(stores["pysec+nvd"])
    assert rated.id == "CVE-2023-32681"
    assert rated.severity is Severity.MEDIUM
    assert rated.extra["severity_source"] == "nvd"
    assert rated.extra["cvss"] == {"score": 6.1,
                                   "vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"}
    assert stores["pysec+nvd"].meta().nvd[0].records == 1


def test_a_records_own_cvss_comes_before_nvd(stores: dict[str, VulnStore]) -> None:
    assert _requests(stores["both+nvd"]).extra["severity_source"] == "cvss"
    assert _requests(stores["both"]).extra["severity_source"] == "cvss"


def test_an_nvd_file_is_loaded_by_db_update(tmp_path: Path) -> None:
    from portcullis.vulndb.update import UpdateOptions, update

    mirror = tmp_path / "mirror" / "PyPI"
    mirror.mkdir(parents=True)
    (mirror / "all.zip").write_bytes(export_zip(
        {"PYSEC-2023-74.json": osv_record("PyPI", "PYSEC-2023-74")}))
    files = [fixture_path(NVD / n) for n in ("CVE-2023-32681.json", "CVE-2021-44906.json")]
    result = update(UpdateOptions(db_path=tmp_path / "vuln.db", source=str(tmp_path / "mirror"),
                                  ecosystems=("PyPI",), nvd=[str(f) for f in files]))
    assert [(e.url, e.records) for e in result.meta.nvd] == [(str(f), 1) for f in files]
    with VulnStore(tmp_path / "vuln.db") as store:
        assert _requests(store).extra["severity_source"] == "nvd"
        assert store.nvd_cvss("CVE-2021-44906") is not None
