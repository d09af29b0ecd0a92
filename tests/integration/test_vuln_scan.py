"""The vuln scanner end to end: a real image written by the kit, the real CLI in a child
process, the session's database built from real OSV records (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.images import kit
from tests.integration.test_report_schema import assert_documented_rules, assert_valid

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
PACKAGE_JSON = '{{"name": "{name}", "version": "{version}", "license": "MIT"}}'


def _image(tmp_path: Path, requests: str, lodash: str) -> str:
    site = "usr/lib/python3.11/site-packages"
    layers = [
        kit.Layer([kit.file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")]),
        kit.Layer([kit.file(f"{site}/requests-{requests}.dist-info/METADATA",
                            METADATA.format(name="requests", version=requests))],
                  created_by="RUN pip install requests"),
        kit.Layer([kit.file("app/node_modules/lodash/package.json",
                            PACKAGE_JSON.format(name="lodash", version=lodash))],
                  created_by="RUN npm install"),
    ]
    layout = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{layout}:t"


def _vulns(doc: dict) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {(f["package_name"], f["id"]): f for f in doc["findings"]
            if f["kind"] == "vulnerability"}


def test_old_packages_have_their_vulnerabilities_with_layers(tmp_path: Path) -> None:
    ref = _image(tmp_path, "2.30.0", "4.17.11")
    proc = run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "vuln")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["scanners"]["vuln"]["status"] == "ok"
    assert_valid(doc)
    assert_documented_rules(doc)
    found = _vulns(doc)
    assert sorted(found) == [("lodash", "CVE-2019-10744"), ("lodash", "CVE-2021-23337"),
                             ("requests", "CVE-2023-32681")]
    requests = found[("requests", "CVE-2023-32681")]
    assert requests["layer"] == 1 and requests["fixed_versions"] == ["2.31.0"]
    assert requests["installed_version"] == "2.30.0"
    assert requests["aliases"] == ["GHSA-j8r2-6x86-q33q", "PYSEC-2023-74"]
    assert found[("lodash", "CVE-2019-10744")]["layer"] == 2
    assert found[("lodash", "CVE-2019-10744")]["severity"] == "CRITICAL"
    blocked = run_cli("scan", ref, "--format", "json", "--quiet", "--fail-on", "critical")
    assert blocked.returncode == 1, blocked.stderr
    assert any("CVE-2019-10744" in v["reason"]
               for v in json.loads(blocked.stdout)["verdict"]["violations"])


def test_fixed_packages_have_none(tmp_path: Path) -> None:
    # Only vuln: the image's Alpine 3.19 is past its end of life (a compliance finding).
    proc = run_cli("scan", _image(tmp_path, "2.31.0", "4.17.21"), "--format", "json",
                   "--quiet", "--fail-on", "low", "--scanners", "vuln")
    assert proc.returncode == 0, proc.stderr
    assert _vulns(json.loads(proc.stdout)) == {}


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_missing_database_fails_the_scanner_loudly(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "nowhere" / "vuln.db"
    args = ["--db", str(missing)] if how == "option" else []
    env = {"PORTCULLIS_DB": str(missing)}
    proc = run_cli("scan", _image(tmp_path, "2.30.0", "4.17.11"), "--format", "json",
                   "--quiet", *args, env=env)
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["scanners"]["vuln"]["status"] == "failed"
    assert str(missing) in doc["scanners"]["vuln"]["message"]
    assert proc.stderr.startswith("portcullis: warning: vuln scanner failed: no vulnerability "
                                  f"database at {missing}")


def test_the_report_names_the_database_and_warns_when_it_is_old(tmp_path: Path,
                                                                 test_vuln_db: Path) -> None:
    ref = _image(tmp_path, "2.31.0", "4.17.21")
    fresh = json.loads(run_cli("scan", ref, "--format", "json", "--quiet",
                               "--scanners", "vuln").stdout)
    assert fresh["db"]["path"] == str(test_vuln_db)
    assert fresh["db"]["schema"] == 1 and fresh["db"]["age_days"] is None
    assert fresh["db"]["sources"]  # the export URLs the database was built from
    assert not [w for w in fresh["warnings"] if "was built" in w["message"]]
    old = json.loads(run_cli("scan", ref, "--format", "json", "--quiet", "--scanners", "vuln",
                             "--db-max-age", "0").stdout)
    assert old["db"]["age_days"] == 0
    assert [w["message"] for w in old["warnings"] if w["analyzer"] == "vuln"] == [
        f"the vulnerability database at {test_vuln_db} was built 0 days ago (older than 0 "
        "days): run `portcullis db update`"]
    assert_valid(old)


def test_the_table_groups_vulnerabilities_by_package(tmp_path: Path) -> None:
    proc = run_cli("scan", _image(tmp_path, "2.30.0", "4.17.11"), "--format", "table",
                   "--quiet", "--scanners", "vuln")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Vulnerabilities (3 in 2 packages)" in out
    rows = [line for line in out.splitlines() if "CVE-" in line]
    assert [r.split("  ")[0].strip() for r in rows] == ["lodash", "", "requests"]
    assert all(len(line) <= 80 for line in out.splitlines())  # an 80-column CI log
    assert "CVE-2019-10744" in rows[0] and "4.17.12" in rows[0]  # critical first
    assert "CVE-2021-23337" in rows[1] and "4.17.21" in rows[1]
    assert "2.31.0" in rows[2]
