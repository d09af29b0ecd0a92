"""What the API refuses: other projects' data, missing or revoked tokens, oversized and
malformed uploads."""

from __future__ import annotations

import json
from typing import Any

from tests.console.conftest import Console
from tests.console.reports import body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_cannot_read_or_write_another_project(console: Console,
                                                      console_report: dict[str, Any]) -> None:
    a, b = console.token("team-a"), console.token("team-b")
    scan_b = console.client.post("/api/v1/scans", content=body(console_report),
                                 headers=auth(b)).json()["id"]
    rule_b = console.client.post("/api/v1/suppressions", headers=auth(b),
                                 json={"rule": "allow", "value": "CVE-1"}).json()["id"]
    assert console.client.get("/api/v1/scans", headers=auth(a)).json() == {"items": [],
                                                                            "total": 0}
    assert console.client.get(f"/api/v1/scans/{scan_b}", headers=auth(a)).status_code == 404
    assert console.client.get(f"/api/v1/scans/{scan_b}/compare/{scan_b}",
                              headers=auth(a)).status_code == 404
    assert console.client.get("/api/v1/suppressions", headers=auth(a)).json()["total"] == 0
    assert console.client.delete(f"/api/v1/suppressions/{rule_b}",
                                 headers=auth(a)).status_code == 404
    # B's data is untouched and still B's
    assert console.client.get(f"/api/v1/scans/{scan_b}", headers=auth(b)).status_code == 200
    assert console.client.get("/api/v1/suppressions", headers=auth(b)).json()["total"] == 1


def test_anonymous_and_revoked_get_401(console: Console, console_report: dict[str, Any]) -> None:
    from portcullis.server import accounts
    from portcullis.server.tables import ApiToken

    for method, path in (("GET", "/api/v1/scans"), ("GET", "/api/v1/scans/1"),
                         ("POST", "/api/v1/scans"), ("GET", "/api/v1/suppressions")):
        answer = console.client.request(method, path, content=b"{}")
        assert answer.status_code == 401, (method, path)
        assert answer.headers["www-authenticate"] == "Bearer"
    token = console.token("shop")
    assert console.client.get("/api/v1/scans", headers=auth(token)).status_code == 200
    with console.app.state.db.session() as session:
        row = session.query(ApiToken).one()
        assert row.last_used_at is not None  # recorded on use
        assert accounts.revoke_token(session, row.project_id, row.id)
    answer = console.client.get("/api/v1/scans", headers=auth(token))
    assert answer.status_code == 401 and "revoked" in answer.text
    assert console.client.get("/api/v1/scans", headers=auth("pcu_guess")).status_code == 401


def test_oversized_upload_is_refused_with_413(console: Console,
                                              console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    big = dict(console_report, padding="x" * 2_100_000)  # the fixture's limit is 2,000,000
    answer = console.client.post("/api/v1/scans", content=body(big), headers=auth(token))
    assert answer.status_code == 413
    assert "larger than the server's limit of 2000000 bytes" in answer.json()["detail"]

    def chunks() -> Any:  # no Content-Length: the limit holds while the body streams
        for _ in range(30):
            yield b"x" * 100_000

    streamed = console.client.post("/api/v1/scans", content=chunks(), headers=auth(token))
    assert streamed.status_code == 413
    assert console.client.get("/api/v1/scans", headers=auth(token)).json()["total"] == 0


def test_malformed_uploads_are_refused_with_a_clear_422(console: Console,
                                                        console_report: dict[str, Any]) -> None:
    token = console.token("shop")

    def send(data: bytes) -> str:
        answer = console.client.post("/api/v1/scans", content=data, headers=auth(token))
        assert answer.status_code == 422, answer.text
        detail: str = answer.json()["detail"]
        return detail

    assert send(b"{not json").startswith("the body is not JSON")
    assert send(b"\xff\xfe").startswith("the body is not JSON")
    assert send(b"[1, 2]") == "the body is not a JSON object (a Portcullis report is one)"
    wrong = json.loads(body(console_report))
    wrong["findings"][0]["severity"] = "APOCALYPTIC"
    assert send(json.dumps(wrong).encode()).startswith(
        "the report does not match the report schema at /findings/0/severity: 'APOCALYPTIC'")
    missing = json.loads(body(console_report))
    del missing["artifact"]
    assert "'artifact' is a required property" in send(json.dumps(missing).encode())
    assert console.client.get("/api/v1/scans", headers=auth(token)).json()["total"] == 0


def test_hostile_strings_are_stored_and_shown(console: Console,
                                              console_report: dict[str, Any]) -> None:
    """A file name that was not UTF-8 (a lone surrogate escape) and a NUL in uploaded text:
    PostgreSQL refuses both raw, so they are stored escaped, never a 500."""
    token = console.token("shop")
    doc = json.loads(body(console_report))
    doc["artifact"]["reference"] = "dir:/srv/caf\udce9\u0000"
    doc["findings"][0]["title"] = "bad \udcff byte and \u0000 nul"
    data = json.dumps(doc).encode("ascii")  # ensure_ascii: the escapes travel as \\uXXXX
    answer = console.client.post("/api/v1/scans", content=data, headers=auth(token))
    assert answer.status_code == 201, answer.text
    listed = console.client.get("/api/v1/scans", headers=auth(token)).json()["items"][0]
    assert listed["reference"] == "dir:/srv/caf\\udce9\\x00"
