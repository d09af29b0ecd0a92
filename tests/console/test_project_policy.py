"""A project's policy: an admin saves it on the settings page (checked with the CLI's parser,
errors with their line), the API hands it to the project's tokens only, and ``scan --upload
--token`` applies it when the scan has no --policy of its own."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.console.conftest import Console, start_server, stop_server
from tests.console.reports import console_image
from tests.console.test_pages import PASSWORD, csrf_of, log_in, project_id
from tests.images import kit

# lodash 4.17.4 has a CRITICAL and a HIGH vulnerability; this blocks only on the HIGH one.
POLICY = """\
version: 1
name: shop-policy
rules:
  vulnerability:
    - ids: [CVE-2021-23337]
"""
BAD = "version: 1\nrules:\n  vulnerability:\n    - severity: HUGE\n"


def test_admins_save_a_checked_policy_that_tokens_fetch(console: Console) -> None:
    shop_token, bank_token = console.token("shop"), console.token("bank")
    console.user("bob", PASSWORD, member_of={"shop": "admin"})
    console.user("alice", PASSWORD, member_of={"shop": "viewer"})
    pid = project_id(console, "shop")
    log_in(console, "bob")
    csrf = csrf_of(console.client.get(f"/projects/{pid}").text)

    refused = console.client.post(f"/projects/{pid}/policy", data={"csrf": csrf, "policy": BAD})
    assert refused.status_code == 422
    assert ('id="policy-error">project-policy.yaml:4: rules.vulnerability[0].severity: '
            "unknown severity &#39;HUGE&#39;") in refused.text
    assert "severity: HUGE\n</textarea>" in refused.text  # the text is kept to fix it
    saved = console.client.post(f"/projects/{pid}/policy", data={"csrf": csrf, "policy": POLICY},
                                follow_redirects=False)
    assert saved.status_code == 303
    assert "name: shop-policy" in console.client.get(f"/projects/{pid}").text

    def fetched(token: str) -> object:
        answer = console.client.get("/api/v1/policy",
                                    headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        return answer.json()["policy"]

    assert fetched(shop_token) == POLICY
    assert fetched(bank_token) is None  # another project's token sees its own (none)
    assert console.client.get("/api/v1/policy").status_code == 401

    console.client.post("/logout", data={"csrf": csrf})
    log_in(console, "alice")  # a viewer sees the policy but cannot change it
    page = console.client.get(f"/projects/{pid}").text
    assert "name: shop-policy" in page and 'action="/projects/' + str(pid) + '/policy"' not in page
    answer = console.client.post(f"/projects/{pid}/policy",
                                 data={"csrf": csrf_of(page), "policy": ""})
    assert answer.status_code == 403
    assert fetched(shop_token) == POLICY


def test_scan_applies_the_projects_policy(tmp_path: Path) -> None:
    from portcullis.server import accounts
    from portcullis.server.config import sqlite_url
    from portcullis.server.db import Database

    archive = kit.write_docker_archive(tmp_path / "app.tar", console_image(), style="skopeo")
    data = tmp_path / "data"
    token = run_cli("server", "token", "create", "--project", "shop", "--data-dir",
                    str(data)).stdout.split()[-1]
    db = Database(sqlite_url(data))
    with db.session() as session:
        found = accounts.project(session, "shop")
        assert found is not None
        found.policy = POLICY
        session.commit()
    db.close()
    server = start_server(data)

    def scan(*extra: str) -> tuple[int, dict[str, object], str]:
        done = run_cli("scan", f"docker-archive:{archive}", "--format", "json",
                       "--scanners", "vuln", "--upload", server.url, "--token", token, *extra)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout), done.stderr

    try:
        code, report, _ = scan()
        verdict = report["verdict"]
        assert code == 1 and isinstance(verdict, dict)
        assert verdict["policy"] == "policy shop-policy"
        violations = verdict["violations"]
        assert len(violations) == 1 and "CVE-2021-23337" in violations[0]["reason"]
        # A local policy wins over the project's, and the scan says so.
        local = tmp_path / "local.yaml"
        local.write_text("version: 1\nname: local\nrules:\n  vulnerability: false\n")
        code, report, stderr = scan("--policy", str(local))
        assert code == 0 and "the project's policy is not applied" in stderr
    finally:
        stop_server(server)
