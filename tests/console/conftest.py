"""Fixtures of the console tests: a real report, a database on SQLite or PostgreSQL, the app."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.console import postgres
from tests.console.reports import scan_report

_names = itertools.count()


@pytest.fixture(scope="session")
def console_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return scan_report(tmp_path_factory.mktemp("console-image"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    why = postgres.missing()
    if why:
        pytest.skip(why)
    with postgres.cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'console.db'}"
    admin_url: str = request.getfixturevalue("pg_cluster")
    return postgres.fresh_database(admin_url, f"console_{os.getpid()}_{next(_names)}")


@dataclass
class Console:
    client: Any  # fastapi.testclient.TestClient
    app: Any

    def token(self, project: str) -> str:
        from portcullis.server import accounts

        with self.app.state.db.session() as session:
            row = accounts.project(session, project, create=True)
            return accounts.issue_token(session, row).token

    def user(self, name: str, password: str, *, admin: bool = False,
             member_of: dict[str, str] | None = None) -> None:
        from portcullis.server import accounts

        with self.app.state.db.session() as session:
            user = accounts.set_user(session, name, password, admin=admin)
            for project, role in (member_of or {}).items():
                accounts.set_member(session, accounts.project(session, project, create=True),
                                    user, role)


@pytest.fixture
def console(database_url: str) -> Iterator[Console]:
    from fastapi.testclient import TestClient

    from portcullis.server.app import create_app
    from portcullis.server.config import ServerConfig

    app = create_app(ServerConfig(database_url=database_url, max_upload_bytes=2_000_000))
    with TestClient(app) as client:
        yield Console(client, app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    log: Path


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> LiveServer:
    """``portcullis server`` in a child process, as a user starts it; waits until it listens."""
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CI", None)
    # Output to a file, not a pipe: a pipe nobody reads until the end would fill up and stop
    # the server mid-test.
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.with_name(data_dir.name + "-server.log")
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "portcullis", "server", "--port", str(port), "--data-dir",
             str(data_dir), *args],
            stdout=out, stderr=subprocess.STDOUT, text=True, env=full_env)
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError("portcullis server did not start: "
                                   f"{log.read_text()}") from None
            time.sleep(0.1)
    return LiveServer(f"http://127.0.0.1:{port}", data_dir, process, log)


def stop_server(server: LiveServer) -> str:
    """Stops the server; returns everything it printed."""
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    return server.log.read_text()
