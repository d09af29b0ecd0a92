"""The pages through the app (no browser): log in, every page renders the uploaded scan, and
what they refuse: anonymous visitors, other projects, viewers changing settings, forged
forms, password guessing. Uploaded text is escaped."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.console.conftest import Console
from tests.console.reports import body, variant

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def log_in(console: Console, name: str, password: str = PASSWORD) -> Any:
    form = console.client.get("/login")
    return console.client.post("/login", data={"name": name, "password": password,
                                               "csrf": csrf_of(form.text), "next": "/"},
                               follow_redirects=False)


def upload(console: Console, project: str, doc: dict[str, Any]) -> int:
    token = console.token(project)
    answer = console.client.post("/api/v1/scans", content=body(doc),
                                 headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    scan_id: int = answer.json()["id"]
    return scan_id


@pytest.fixture
def shop(console: Console, console_report: dict[str, Any]) -> dict[str, int]:
    """Two projects with one scan each; alice views shop, bob administers shop, root is admin."""
    ids = {"shop": upload(console, "shop", variant(console_report, "registry:r/shop:1.0")),
           "bank": upload(console, "bank", variant(console_report, "registry:r/bank:2.0"))}
    console.user("root", PASSWORD, admin=True)
    console.user("alice", PASSWORD, member_of={"shop": "viewer"})
    console.user("bob", PASSWORD, member_of={"shop": "admin"})
    return ids


def test_anonymous_visitors_get_401_and_the_login_form(console: Console,
                                                       shop: dict[str, int]) -> None:
    for path in ("/", "/images", f"/scans/{shop['shop']}", "/risks", "/pipeline", "/projects",
                 f"/scans/{shop['shop']}/report.json"):
        answer = console.client.get(path)
        assert answer.status_code == 401, path
        assert 'action="/login"' in answer.text
    assert console.client.get("/login").status_code == 200
    # An API token is no way into the pages either (the pages know people, not pipelines).
    token = console.token("shop")
    answer = console.client.get(f"/scans/{shop['shop']}",
                                headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401


def test_login_then_every_page_shows_the_scan(console: Console, shop: dict[str, int]) -> None:
    answer = log_in(console, "alice")
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    board = console.client.get("/")
    assert board.status_code == 200 and 'id="count-images">1<' in board.text
    assert "content-security-policy" in board.headers
    listed = console.client.get("/images")
    assert "r/shop" in listed.text and "r/bank" not in listed.text  # alice sees shop only
    filtered = console.client.get("/images", params={"verdict": "passed", "since": "",
                                                     "has": "malware"})
    assert filtered.status_code == 200 and "No scan matches." in filtered.text
    for slug in ("vulnerabilities", "malware", "software", "files", "baseline", "sensitive",
                 "compliance", "base-image"):
        page = console.client.get(f"/scans/{shop['shop']}", params={"tag": slug, "tab": slug})
        assert page.status_code == 200, slug
        assert f'class="on" data-tab="{slug}"' in page.text
    vulns = console.client.get(f"/scans/{shop['shop']}").text
    assert "lodash" in vulns and 'class="layer" title="COPY node_modules' in vulns
    exported = console.client.get(f"/scans/{shop['shop']}/report.json")
    assert exported.json()["artifact"]["reference"] == "registry:r/shop:1.0"
    assert "attachment" in exported.headers["content-disposition"]
    assert "lodash" in console.client.get("/risks").text
    snippet = console.client.get("/pipeline", params={
        "project": "shop", "system": "jenkins", "scenario": "local", "image": "r/shop:1.0",
        "blocking": "1", "fail_on": "high"}).text
    assert "withCredentials([string(credentialsId: &#39;portcullis-token-shop&#39;" in snippet
    assert "pcu_" not in snippet


def test_other_projects_stay_hidden(console: Console, shop: dict[str, int]) -> None:
    log_in(console, "alice")
    assert console.client.get(f"/scans/{shop['bank']}").status_code == 404
    assert console.client.get(f"/scans/{shop['bank']}/report.json").status_code == 404
    bank = console.client.get("/projects").text
    assert "bank" not in bank


def project_id(console: Console, name: str) -> int:
    from portcullis.server import accounts

    with console.app.state.db.session() as session:
        found = accounts.project(session, name)
        assert found is not None
        return found.id


def test_a_viewer_cannot_change_settings(console: Console, shop: dict[str, int]) -> None:
    log_in(console, "alice")
    pid = project_id(console, "shop")
    page = console.client.get(f"/projects/{pid}")
    assert page.status_code == 200 and "New token" not in page.text
    csrf = csrf_of(page.text)
    for path, data in ((f"/projects/{pid}/tokens", {"name": "x"}),
                       (f"/projects/{pid}/members", {"name": "alice", "role": "admin"}),
                       (f"/projects/{pid}/suppressions", {"rule": "allow", "value": "CVE-1"}),
                       (f"/projects/{pid}/tokens/1/revoke", {})):
        answer = console.client.post(path, data={**data, "csrf": csrf})
        assert answer.status_code == 403, path
    assert "alice</td><td>viewer" in console.client.get(f"/projects/{pid}").text


def test_an_admin_manages_tokens_members_and_suppressions(console: Console,
                                                          shop: dict[str, int]) -> None:
    log_in(console, "bob")
    pid = project_id(console, "shop")
    csrf = csrf_of(console.client.get(f"/projects/{pid}").text)
    made = console.client.post(f"/projects/{pid}/tokens", data={"name": "jenkins",
                                                                "csrf": csrf})
    token = re.search(r'id="new-token">(pcu_[^<]+)<', made.text)
    assert token
    ok = console.client.get("/api/v1/scans",
                            headers={"Authorization": f"Bearer {token.group(1)}"})
    assert ok.status_code == 200 and ok.json()["total"] == 1
    assert token.group(1) not in console.client.get(f"/projects/{pid}").text  # shown once
    added = console.client.post(f"/projects/{pid}/members", data={
        "name": "carol", "password": PASSWORD, "role": "viewer", "csrf": csrf})
    assert added.status_code == 200 and "carol</td><td>viewer" in added.text
    rule = console.client.post(f"/projects/{pid}/suppressions", data={
        "rule": "allow", "value": "GHSA-35jh-r3h4-6jhm", "reason": "tests only",
        "expires": "2099-12-31", "csrf": csrf})
    assert "GHSA-35jh-r3h4-6jhm" in rule.text and "2099-12-31" in rule.text
    forged = console.client.post(f"/projects/{pid}/tokens", data={"csrf": "forged"})
    assert forged.status_code == 403 and "CSRF" in forged.text


def test_uploaded_markup_is_escaped(console: Console, console_report: dict[str, Any]) -> None:
    doc = variant(console_report, f"registry:r/{XSS}:1")
    doc["packages"][0]["name"] = XSS
    for f in doc["findings"]:
        f["title"] = XSS
    scan_id = upload(console, "shop", doc)
    console.user("root", PASSWORD, admin=True)
    log_in(console, "root")
    pages = [console.client.get(f"/scans/{scan_id}", params={"tab": t}).text
             for t in ("software", "vulnerabilities", "sensitive")]
    pages += [console.client.get(p).text for p in ("/", "/images", "/risks")]
    for html in pages:
        assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]


def test_login_is_rate_limited_and_csrf_checked(console: Console, shop: dict[str, int]) -> None:
    for _ in range(5):
        assert log_in(console, "alice", "wrong password").status_code == 401
    limited = log_in(console, "alice")  # even the right password now waits
    assert limited.status_code == 429 and "Too many failed logins" in limited.text
    no_csrf = console.client.post("/login", data={"name": "bob", "password": PASSWORD,
                                                  "csrf": "made-up"}, follow_redirects=False)
    assert no_csrf.status_code == 403


def test_compare_with_the_previous_scan(console: Console, console_report: dict[str, Any]) -> None:
    old = variant(console_report, "registry:r/shop:1.0", created_at="2026-11-01T00:00:00Z")
    new = variant(console_report, "registry:r/shop:1.1", created_at="2026-11-02T00:00:00Z")
    new["findings"] = [f for f in new["findings"] if f["kind"] != "malware"]
    first = upload(console, "shop", old)
    second = upload(console, "shop", new)
    console.user("root", PASSWORD, admin=True)
    log_in(console, "root")
    detail = console.client.get(f"/scans/{second}").text
    assert f'href="/scans/{second}/compare?against={first}"' in detail
    page = console.client.get(f"/scans/{second}/compare").text  # default: the previous one
    assert 'id="fixed">Fixed (1)' in page and "EICAR_Test_File" in page
    assert 'id="new">New (0)' in page
    assert console.client.get(f"/scans/{first}/compare").status_code == 404  # none earlier
