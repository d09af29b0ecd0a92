"""Many pipelines at once against a real server: every upload stored exactly once, none
refused (the regression: each request held two pooled connections, and 20 concurrent
uploads drained the pool into 30-second timeouts and 500s)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import run_cli
from tests.console.conftest import start_server, stop_server
from tests.console.reports import body, variant

UPLOADERS = 24
REPORTS = 120
DUPLICATES = 24


def test_concurrent_uploads_are_stored_exactly_once(tmp_path: Path, database_url: str,
                                                    console_report: dict[str, Any]) -> None:
    data = tmp_path / "data"
    made = run_cli("server", "token", "create", "--project", "load", "--data-dir", str(data),
                   "--database-url", database_url)
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[-1]
    distinct = [body(variant(console_report, f"registry:r/app{i % 7}:{i}"))
                for i in range(REPORTS)]
    sends = distinct + random.Random(3).sample(distinct, DUPLICATES)
    random.Random(4).shuffle(sends)
    server = start_server(data, "--database-url", database_url)
    try:
        def send(data: bytes) -> int:
            return httpx.post(server.url + "/api/v1/scans", content=data, timeout=120,
                              headers={"Authorization": f"Bearer {token}"}).status_code

        with ThreadPoolExecutor(UPLOADERS) as pool:
            codes = list(pool.map(send, sends))
        total = httpx.get(server.url + "/api/v1/scans", params={"limit": 1},
                          headers={"Authorization": f"Bearer {token}"}).json()["total"]
    finally:
        log = stop_server(server)
    assert sorted(set(codes)) == [200, 201], log[-2000:]
    assert codes.count(201) == REPORTS and codes.count(200) == DUPLICATES
    assert total == REPORTS
