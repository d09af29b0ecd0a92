"""The console project's suppressions apply at scan time: ``scan --upload URL --token T``
fetches them into the gate, so an allowed vulnerability stops blocking, a blocked id blocks
whatever its severity (and wins over an allow, as a policy file's deny list does), an allowed
image passes; an unreachable console leaves the local verdict."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import run_cli
from tests.console.conftest import start_server, stop_server
from tests.console.reports import console_image
from tests.images import kit


def test_scan_applies_the_projects_rules(tmp_path: Path) -> None:
    archive = kit.write_docker_archive(tmp_path / "app.tar", console_image(), style="skopeo")
    data = tmp_path / "data"
    token = run_cli("server", "token", "create", "--project", "shop", "--data-dir",
                    str(data)).stdout.split()[-1]
    server = start_server(data)
    auth = {"Authorization": f"Bearer {token}"}

    def scan(*extra: str) -> tuple[int, dict[str, object]]:
        done = run_cli("scan", f"docker-archive:{archive}", "--format", "json", "--fail-on",
                       "high", "--scanners", "vuln", "--upload", server.url, "--token", token,
                       *extra)
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    def rule(kind: str, value: str) -> int:
        answer = httpx.post(server.url + "/api/v1/suppressions", headers=auth,
                            json={"rule": kind, "value": value, "reason": "test"})
        assert answer.status_code == 201, answer.text
        rule_id: int = answer.json()["id"]
        return rule_id

    try:
        code, report = scan()
        assert code == 1  # lodash 4.17.4: a CRITICAL and a HIGH
        # one by its CVE id, one by its GHSA alias
        rule("allow", "CVE-2019-10744")
        allow_alias = rule("allow", "GHSA-35jh-r3h4-6jhm")
        code, report = scan()
        assert code == 0, report["verdict"]
        assert "console (2 rule(s))" in report["verdict"]["policy"]

        httpx.delete(f"{server.url}/api/v1/suppressions/{allow_alias}", headers=auth)
        block = rule("block", "CVE-2019-10744")  # allowed and blocked: the block wins
        code, report = scan("--fail-on", "critical")
        assert code == 1
        httpx.delete(f"{server.url}/api/v1/suppressions/{block}", headers=auth)
        rule("block", "CVE-2021-23337")  # HIGH, below the critical threshold, yet it blocks
        code, report = scan("--fail-on", "critical")
        assert code == 1
        violations = report["verdict"]["violations"]
        assert len(violations) == 1 and "CVE-2021-23337" in violations[0]["reason"]
        assert "deny" in violations[0]["rule"]

        rule("image-allow", str(archive))
        code, report = scan()
        assert code == 0 and report["verdict"]["image_allowed"]
    finally:
        stop_server(server)
    # The console is gone: the local verdict stands, with a warning.
    done = run_cli("scan", f"docker-archive:{archive}", "--format", "json", "--fail-on", "high",
                   "--scanners", "vuln", "--upload", server.url, "--token", token)
    assert done.returncode == 1
    assert "the project's rules were not applied" in done.stderr
