"""The scan page exports the stored report in every format the CLI writes, each a download
that validates as its format says: SARIF against its 2.1.0 schema, CycloneDX with
cyclonedx-python-lib's strict validator, SPDX with spdx-tools, JUnit with junitparser, the
HTML page with the verdict. Only viewers of the scan's project get them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from junitparser import JUnitXml
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from portcullis.report.base import writers
from tests.console.conftest import Console
from tests.console.reports import variant
from tests.console.test_pages import PASSWORD, log_in, upload
from tests.fixtures import DATA

SARIF_SCHEMA = json.loads((DATA / "schemas" / "sarif-schema-2.1.0.json").read_text("utf-8"))
MEDIA = {"json": "application/json", "sarif": "application/sarif+json",
         "cyclonedx": "application/vnd.cyclonedx+json; version=1.6",
         "spdx-json": "application/spdx+json", "html": "text/html; charset=utf-8",
         "junit": "application/xml", "table": "text/plain; charset=utf-8"}


@pytest.fixture
def scans(console: Console, console_report: dict[str, Any]) -> dict[str, int]:
    ids = {"shop": upload(console, "shop", variant(console_report, "registry:r/shop:1.0")),
           "bank": upload(console, "bank", variant(console_report, "registry:r/bank:2.0"))}
    console.user("alice", PASSWORD, member_of={"shop": "viewer"})
    return ids


def test_every_format_downloads_and_validates(console: Console, scans: dict[str, int],
                                              console_report: dict[str, Any],
                                              tmp_path: Path) -> None:
    assert set(MEDIA) == set(writers())  # a new writer needs its row here
    log_in(console, "alice")
    shop = scans["shop"]
    page = console.client.get(f"/scans/{shop}").text
    got: dict[str, Any] = {}
    for fmt, media in MEDIA.items():
        assert f'href="/scans/{shop}/report.{fmt}" id="export-{fmt}"' in page, fmt
        answer = console.client.get(f"/scans/{shop}/report.{fmt}")
        assert answer.status_code == 200, (fmt, answer.text[:300])
        assert answer.headers["content-type"] == media, fmt
        extension = writers()[fmt].extension
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="portcullis-scan-{shop}.{extension}"'), fmt
        got[fmt] = answer
    assert got["json"].json()["artifact"]["reference"] == "registry:r/shop:1.0"

    sarif = got["sarif"].json()
    jsonschema.validate(sarif, SARIF_SCHEMA)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(console_report["findings"]) > 0
    vulns = {f["id"] for f in console_report["findings"] if f["kind"] == "vulnerability"}
    assert vulns and vulns <= {r["ruleId"] for r in results}

    cyclonedx = got["cyclonedx"].text
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(cyclonedx) is None
    components = {c["name"] for c in json.loads(cyclonedx)["components"]}
    assert "lodash" in components

    spdx = tmp_path / "scan.spdx.json"
    spdx.write_bytes(got["spdx-json"].content)
    messages = validate_full_spdx_document(parse_file(str(spdx)))
    assert messages == [], [m.validation_message for m in messages]
    assert "lodash" in {p["name"] for p in json.loads(spdx.read_text())["packages"]}

    verdict = "BLOCKED" if not console_report["verdict"]["passed"] else "PASSED"
    html = got["html"].text
    assert html.startswith("<!DOCTYPE html>") and verdict in html and "lodash" in html

    junit = tmp_path / "scan.xml"
    junit.write_bytes(got["junit"].content)
    assert sum(suite.tests for suite in JUnitXml.fromfile(str(junit))) > 0
    assert "lodash" in got["table"].text


def test_exports_need_a_viewer_of_the_project(console: Console, scans: dict[str, int]) -> None:
    for fmt in ("sarif", "html"):
        answer = console.client.get(f"/scans/{scans['shop']}/report.{fmt}")
        assert answer.status_code == 401 and 'action="/login"' in answer.text
    log_in(console, "alice")
    for fmt in ("json", "sarif", "cyclonedx", "spdx-json", "html"):
        assert console.client.get(f"/scans/{scans['bank']}/report.{fmt}").status_code == 404
        assert console.client.get(f"/scans/999999/report.{fmt}").status_code == 404
    unknown = console.client.get(f"/scans/{scans['shop']}/report.pdf")
    assert unknown.status_code == 404 and "sarif" in unknown.text
