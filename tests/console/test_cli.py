"""The console's command line, run as a user runs it: server start, token create, admin
create, upload, scan --upload (and what a failed upload does to the exit code)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import run_cli
from tests.console.conftest import start_server, stop_server
from tests.console.reports import body

REPO = Path(__file__).resolve().parents[2]


def test_scan_never_imports_the_server() -> None:
    code = ("import sys, portcullis.cli.main, portcullis.scan; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'sqlalchemy', 'alembic', 'uvicorn', 'starlette') "
            "or m.startswith('portcullis.server')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_shipped_schema_is_the_documented_one() -> None:
    shipped = REPO / "src" / "portcullis" / "data" / "report.schema.json"
    assert shipped.read_bytes() == (REPO / "docs" / "report.schema.json").read_bytes()


def test_server_starts_prints_url_and_first_admin_hint(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        assert httpx.get(server.url + "/api/v1/openapi.json").status_code == 200
    finally:
        out = stop_server(server)
    assert f"Portcullis console: {server.url}/" in out
    assert "portcullis server admin create" in out
    assert (tmp_path / "data" / "console.db").exists()


def test_token_create_then_upload_then_scan_upload(tmp_path: Path,
                                                   console_report: dict[str, Any]) -> None:
    data = tmp_path / "data"
    made = run_cli("server", "token", "create", "--project", "shop", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[-1]
    assert token.startswith("pcu_")
    admin = run_cli("server", "admin", "create", "root", "--password-stdin", "--data-dir",
                    str(data), stdin="correct horse battery\n")
    assert admin.returncode == 0, admin.stderr
    report = tmp_path / "report.json"
    report.write_bytes(body(console_report))
    server = start_server(data)
    try:
        sent = run_cli("upload", str(report), "--server", server.url, "--token", token)
        assert sent.returncode == 0, sent.stderr
        assert f"uploaded: {server.url}/scans/1" in sent.stdout
        again = run_cli("upload", str(report), env={"PORTCULLIS_SERVER": server.url,
                                                    "PORTCULLIS_TOKEN": token})
        assert again.returncode == 0 and "already there" in again.stdout
        refused = run_cli("upload", str(report), "--server", server.url, "--token", "pcu_wrong")
        assert refused.returncode == 2
        assert "refused the report (HTTP 401): the token is unknown or revoked" in refused.stderr
        not_json = tmp_path / "bad.json"
        not_json.write_text("{ nope")
        bad = run_cli("upload", str(not_json), "--server", server.url, "--token", token)
        assert bad.returncode == 2 and "HTTP 422" in bad.stderr and "not JSON" in bad.stderr

        image = tmp_path / "image"
        image.mkdir()
        (image / "hello.txt").write_text("hi\n")
        scanned = run_cli("scan", f"dir:{image}", "--format", "json", "--upload", server.url,
                          "--token", token)
        assert scanned.returncode == 0, scanned.stderr
        assert "report uploaded" in scanned.stderr
        listed = httpx.get(server.url + "/api/v1/scans",
                           headers={"Authorization": f"Bearer {token}"}).json()
        assert listed["total"] == 2
        assert json.loads(scanned.stdout)["artifact"]["reference"] == f"dir:{image}"
    finally:
        stop_server(server)


def test_a_failed_upload_changes_the_exit_code_only_when_required(tmp_path: Path) -> None:
    image = tmp_path / "image"
    image.mkdir()
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    soft = run_cli("scan", f"dir:{image}", "--format", "json", "--upload", dead, "--token", "t")
    assert soft.returncode == 0
    assert "portcullis: warning: upload failed: cannot reach the console" in soft.stderr
    hard = run_cli("scan", f"dir:{image}", "--format", "json", "--upload", dead, "--token", "t",
                   "--upload-required")
    assert hard.returncode == 2
    assert "portcullis: error: upload failed" in hard.stderr
