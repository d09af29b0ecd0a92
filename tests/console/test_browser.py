"""The real pages in headless Chromium (Debian's, driven by Python playwright): log in, see an
uploaded scan, filter, open every tab, generate a pipeline command. Screenshots go to
``$PORTCULLIS_TEST_ARTIFACTS/console`` (default: test-artifacts/console in the checkout)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_cli
from tests.console.conftest import LiveServer, start_server, stop_server
from tests.console.reports import body, variant

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[2]
TABS = ("vulnerabilities", "malware", "software", "files", "baseline", "sensitive",
        "compliance", "base-image")


def artifacts() -> Path:
    root = Path(os.environ.get("PORTCULLIS_TEST_ARTIFACTS") or REPO / "test-artifacts")
    out = root / "console"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def live(tmp_path: Path, console_report: dict[str, Any]) -> Iterator[LiveServer]:
    data = tmp_path / "data"
    made = run_cli("server", "token", "create", "--project", "shop", "--data-dir", str(data))
    token = made.stdout.split()[-1]
    server = start_server(data, env={"PORTCULLIS_ADMIN_PASSWORD": PASSWORD})
    try:
        for i, (ref, passed) in enumerate((("registry:r/shop/web:1.0", False),
                                           ("registry:r/shop/api:2.0", True))):
            doc = variant(console_report, ref, created_at=f"2026-11-2{i}T10:00:00Z")
            if passed:
                doc["findings"] = []
                doc["verdict"] = {**doc["verdict"], "passed": True, "violations": []}
                doc["summary"]["risk_level"] = None
            answer = httpx.post(server.url + "/api/v1/scans", content=body(doc),
                                headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 201, answer.text
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    path = artifacts() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000  # a real picture, not an empty page


def test_browser_login_scan_filter_tabs_pipeline(live: LiveServer, page: Any) -> None:
    page.goto(live.url + "/")
    assert page.locator("form.login").is_visible()  # anonymous: the login form
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    shot(page, "00-after-login")
    assert page.inner_text("#count-images") == "2"
    shot(page, "01-dashboard")

    page.click("text=Images")
    page.wait_for_selector("#scans")
    assert "2 scans" in page.inner_text("#total")
    shot(page, "02-images")
    page.select_option("select[name=verdict]", "blocked")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**verdict=blocked**")
    assert "1 scan" in page.inner_text("#total")
    assert "r/shop/web" in page.inner_text("#scans")
    assert "r/shop/api" not in page.inner_text("#scans")
    shot(page, "03-images-filtered")

    page.click("#scans a:has-text('r/shop/web')")
    page.wait_for_selector("nav.tabs")
    for slug in TABS:
        page.click(f"a[data-tab={slug}]")
        page.wait_for_selector(f"a.on[data-tab={slug}]")
        assert page.locator("table.findings").first.is_visible()
        shot(page, f"04-tab-{slug}")
    page.click("a[data-tab=vulnerabilities]")
    layer = page.locator("td.layer").first
    assert layer.get_attribute("title").startswith("COPY node_modules")
    assert "lodash" in page.inner_text("table.findings")

    page.click("text=Pipeline")
    page.fill("input[name=image]", "r/shop/web:1.0")
    page.click("button:has-text('Generate')")
    page.wait_for_selector("#snippet")
    snippet = page.inner_text("#snippet")
    assert "withCredentials([string(credentialsId: 'portcullis-token-shop'" in snippet
    assert "pcu_" not in snippet
    shot(page, "05-pipeline")

    page.click("text=Projects")
    page.click("a:has-text('shop')")
    page.click("button:has-text('New token')")
    token = page.inner_text("#new-token")
    assert token.startswith("pcu_")
    shot(page, "06-settings")
