"""The HTML report opened for real: headless Debian chromium driven by playwright reads what a
person would see (verdict, charts, filterable findings), with markup from the image escaped and
no request leaving the page. Screenshots go to test-artifacts/html/ to be looked at."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.images import kit
from tests.integration.test_vuln_scan import METADATA, PACKAGE_JSON

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
HOSTILE_DIR = "<img src=x onerror=alert(1)>"


def artifacts() -> Path:
    root = Path(os.environ.get("PORTCULLIS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out = root / "html"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An image with blocking vulnerabilities (lodash 4.17.11) and a `.env` file under a
    folder whose name is an HTML tag; the scan writes json and html from one run."""
    tmp = tmp_path_factory.mktemp("html")
    site = "usr/lib/python3.11/site-packages"
    layers = [
        kit.Layer([kit.file("etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n")]),
        kit.Layer([kit.file(f"{site}/requests-2.30.0.dist-info/METADATA",
                            METADATA.format(name="requests", version="2.30.0"))],
                  created_by="RUN pip install requests"),
        kit.Layer([kit.file("app/node_modules/lodash/package.json",
                            PACKAGE_JSON.format(name="lodash", version="4.17.11")),
                   kit.file(f"app/{HOSTILE_DIR}/.env", "DATABASE_URL_HOST=db\n")],
                  created_by="RUN npm install"),
    ]
    layout = kit.write_oci_layout(tmp / "img", kit.ImageSpec(layers=layers), ref="t")
    html, js = tmp / "report.html", tmp / "report.json"
    proc = run_cli("scan", f"oci:{layout}:t", "--quiet", "--fail-on", "high",
                   "--report", f"html={html}", "--report", f"json={js}")
    assert proc.returncode == 1, proc.stderr
    return html, json.loads(js.read_text())


@pytest.fixture(scope="module")
def page(reports: tuple[Path, dict[str, Any]]) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    html, _ = reports
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.dialogs = []  # type: ignore[attr-defined]
            tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
            tab.requests = []  # type: ignore[attr-defined]
            tab.on("request", lambda r: tab.requests.append(r.url))  # type: ignore[attr-defined]
            tab.goto(html.as_uri())
            yield tab
        finally:
            browser.close()


def test_the_page_shows_the_verdict_and_every_finding(page: Any,
                                                      reports: tuple[Path, dict[str, Any]]) -> None:
    _, doc = reports
    assert page.locator("#verdict").inner_text() == "BLOCKED"
    rows = page.locator("#findings tbody tr")
    assert rows.count() == len(doc["findings"]) > 0
    ids = set(rows.locator("td:nth-child(3)").all_inner_texts())
    assert {"CVE-2019-10744", "CVE-2021-23337", "CVE-2023-32681"} <= ids
    blocking = page.locator("#findings tbody tr:has(.blocking)").count()
    assert blocking == len(doc["verdict"]["violations"])
    page.screenshot(path=str(artifacts() / "report.png"), full_page=True)


def test_the_charts_count_what_the_report_holds(page: Any,
                                                reports: tuple[Path, dict[str, Any]]) -> None:
    _, doc = reports
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        bar = page.locator(f'#chart-severity g[data-label="{severity}"]')
        expected = sum(f["severity"] == severity for f in doc["findings"])
        assert bar.get_attribute("data-count") == str(expected)
    vuln_bar = page.locator('#chart-item g[data-label="vuln"]')
    assert vuln_bar.get_attribute("data-count") == str(
        sum(f["kind"] == "vulnerability" for f in doc["findings"]))


def test_filters_narrow_the_table(page: Any, reports: tuple[Path, dict[str, Any]]) -> None:
    _, doc = reports
    visible = page.locator("#findings tbody tr:visible")
    page.select_option("#f-sev", "CRITICAL")
    assert visible.count() == sum(f["severity"] == "CRITICAL" for f in doc["findings"]) >= 1
    page.select_option("#f-sev", "")
    page.fill("#f-text", "lodash")
    texts = visible.all_inner_texts()
    assert texts and all("lodash" in t.lower() for t in texts)
    page.screenshot(path=str(artifacts() / "report-filtered.png"), full_page=True)
    page.fill("#f-text", "")
    assert visible.count() == len(doc["findings"])


def test_markup_from_the_image_is_text_and_nothing_is_fetched(page: Any) -> None:
    # the folder name shows as text; no <img> element exists and no script ran
    assert page.locator("img").count() == 0
    assert HOSTILE_DIR in page.locator("#findings").inner_text()
    assert page.dialogs == []
    assert [u for u in page.requests if not u.startswith("file:")] == []


@pytest.mark.parametrize("text", ["", "plain", "a&b<c>\"d'e", "&amp;", "<script>x</script>",
                                  "caf\u00e9 \udcff", "'''\"\"&&<<>>"])
def test_the_writers_escape_is_the_standard_one(text: str) -> None:
    """report/html.py writes html.escape out (importing html loads 2,000 entities on every
    scan): same result, quotes included."""
    import html

    from portcullis.report.html import escape

    assert escape(text) == html.escape(text)
