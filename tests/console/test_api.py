"""The /api/v1 contract on SQLite and on PostgreSQL: upload, list, one scan, compare,
suppressions, and what each token may touch."""

from __future__ import annotations

import json
from typing import Any

from tests.console.conftest import Console
from tests.console.reports import body, variant


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(console: Console, token: str, doc: dict[str, Any]) -> Any:
    return console.client.post("/api/v1/scans", content=body(doc), headers=auth(token))


def test_upload_is_stored_once_and_listed(console: Console,
                                          console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    first = upload(console, token, console_report)
    assert first.status_code == 201, first.text
    again = upload(console, token, console_report)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    listed = console.client.get("/api/v1/scans", headers=auth(token)).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item["id"] == first.json()["id"]
    assert item["project"] == "shop"
    assert item["vulnerabilities"] == sum(
        f["kind"] == "vulnerability" for f in console_report["findings"]) > 0
    assert item["malware"] == 1
    assert item["passed"] is False  # the real scan ran with --fail-on HIGH


def test_same_report_of_another_digest_is_another_scan(console: Console,
                                                      console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    assert upload(console, token, variant(console_report, "registry:r/app:1",
                                          digest="sha256:" + "a" * 64)).status_code == 201
    assert upload(console, token, variant(console_report, "registry:r/app:1",
                                          digest="sha256:" + "b" * 64)).status_code == 201
    assert console.client.get("/api/v1/scans", headers=auth(token)).json()["total"] == 2


def test_filters_and_pagination(console: Console, console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    for i in range(5):
        doc = variant(console_report, f"registry:127.0.0.1:5000/web:{i}",
                      created_at=f"2026-11-2{i}T10:00:00Z")
        assert upload(console, token, doc).status_code == 201
    clean = variant(console_report, "registry:127.0.0.1:5000/api:1.0")
    clean["findings"] = []
    clean["verdict"] = {**clean["verdict"], "passed": True, "violations": []}
    clean["summary"] = {"by_kind": {}, "by_severity": dict.fromkeys(
        clean["summary"]["by_severity"], 0), "risk_level": None}
    assert upload(console, token, clean).status_code == 201

    def get(**params: Any) -> dict[str, Any]:
        answer = console.client.get("/api/v1/scans", params=params, headers=auth(token))
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert get()["total"] == 6
    page = get(limit=2, offset=2)
    assert page["total"] == 6 and len(page["items"]) == 2
    assert [i["tag"] for i in page["items"]] == ["3", "2"]  # newest first, after api:1.0 and 4
    assert get(image="web")["total"] == 5
    assert {i["image_name"] for i in get(image="api")["items"]} == {"127.0.0.1:5000/api"}
    assert get(tag="3")["total"] == 1
    assert get(verdict="passed")["total"] == 1
    assert get(verdict="blocked")["total"] == 5
    assert get(has="malware")["total"] == 5
    assert get(since="2026-11-23T00:00:00Z", until="2026-11-24T23:00:00Z")["total"] == 2
    assert get(severity="CRITICAL")["total"] == 5
    bad = console.client.get("/api/v1/scans", params={"has": "ufo"}, headers=auth(token))
    assert bad.status_code == 422 and "ufo" in bad.text


def test_one_scan_with_filtered_findings(console: Console,
                                         console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    scan_id = upload(console, token, console_report).json()["id"]
    whole = console.client.get(f"/api/v1/scans/{scan_id}", headers=auth(token)).json()
    assert len(whole["findings"]) == len(console_report["findings"])
    assert whole["report"] == console_report
    vulns = console.client.get(f"/api/v1/scans/{scan_id}", params={"kind": "vulnerability"},
                               headers=auth(token)).json()["findings"]
    assert vulns and {f["kind"] for f in vulns} == {"vulnerability"}
    critical = console.client.get(f"/api/v1/scans/{scan_id}",
                                  params={"kind": "secret", "severity": "CRITICAL"},
                                  headers=auth(token)).json()["findings"]
    assert [f["id"] for f in critical] == ["private-key-rsa"]


def test_compare_two_scans(console: Console, console_report: dict[str, Any]) -> None:
    token = console.token("shop")
    old = variant(console_report, "registry:r/app:1", created_at="2026-11-01T00:00:00Z")
    new = variant(console_report, "registry:r/app:2", created_at="2026-11-02T00:00:00Z")
    fixed = old["findings"][0]
    new["findings"] = [f for f in new["findings"] if f["fingerprint"] != fixed["fingerprint"]]
    other = next(f for f in new["findings"] if f["kind"] in ("secret", "malware", "baseline"))
    added = dict(other, id="new-rule", fingerprint="sha256:" + "c" * 64)
    new["findings"].append(added)
    old_id = upload(console, token, old).json()["id"]
    new_id = upload(console, token, new).json()["id"]
    diff = console.client.get(f"/api/v1/scans/{new_id}/compare/{old_id}",
                              headers=auth(token)).json()
    assert [f["fingerprint"] for f in diff["fixed"]] == [fixed["fingerprint"]]
    assert [f["id"] for f in diff["new"]] == ["new-rule"]
    assert len(diff["unchanged"]) == len(old["findings"]) - 1


def test_suppressions_crud(console: Console) -> None:
    token = console.token("shop")
    made = console.client.post("/api/v1/suppressions", headers=auth(token), json={
        "rule": "allow", "value": "CVE-2021-23337", "reason": "not reachable",
        "expires_at": "2099-01-01T00:00:00Z"})
    assert made.status_code == 201, made.text
    expired = console.client.post("/api/v1/suppressions", headers=auth(token), json={
        "rule": "image-allow", "value": "legacy/app", "expires_at": "2000-01-01T00:00:00Z"})
    assert expired.status_code == 201
    listed = console.client.get("/api/v1/suppressions", headers=auth(token)).json()
    assert [s["value"] for s in listed["items"]] == ["CVE-2021-23337"]  # expired ones drop out
    assert listed["items"][0]["expires_at"] == "2099-01-01T00:00:00Z"
    bad = console.client.post("/api/v1/suppressions", headers=auth(token),
                              json={"rule": "ignore", "value": "x"})
    assert bad.status_code == 422 and "rule must be one of" in bad.text
    gone = console.client.delete(f"/api/v1/suppressions/{made.json()['id']}", headers=auth(token))
    assert gone.status_code == 204
    assert console.client.get("/api/v1/suppressions", headers=auth(token)).json()["total"] == 0


def test_openapi_is_served(console: Console) -> None:
    spec = console.client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/scans", "/api/v1/scans/{scan_id}", "/api/v1/suppressions"} <= set(
        spec["paths"])
    assert "requestBody" in spec["paths"]["/api/v1/scans"]["post"]


def test_migrations_match_the_tables(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from portcullis.server import migrate
    from portcullis.server.db import Database
    from portcullis.server.tables import Base

    db = Database(database_url)
    migrate.upgrade(db.engine)
    migrate.upgrade(db.engine)  # twice: the second is a no-op
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    db.close()
    assert diff == [], json.dumps([str(d) for d in diff])
