"""Console load test: concurrent uploaders against a running ``portcullis server`` on 127.0.0.1.

Usage: ``python bench/bench_console.py [--backends sqlite,postgresql] [--reports 2000]
[--uploaders 50] [--duplicates 200] [--max-seconds 600] [--out FILE]``

For each backend: starts ``portcullis server`` in a child process (SQLite in a temp data dir,
or a throwaway PostgreSQL cluster as the tests make one: initdb as ``postgres``, 127.0.0.1),
creates a project token with ``portcullis server token create``, then ``--uploaders`` threads
send ``--reports`` distinct reports (one real scan of the console test image, each copy with
its own reference and time) plus ``--duplicates`` re-sends of already-sent ones, in random
order. Afterwards it counts the scans (the API's ``total`` and the ``scans`` table itself):
no upload may be lost and no duplicate stored. Reports p50/p95/p99 upload latency and uploads
per second. Bounded: stops sending after ``--max-seconds``. Always exits 0: benchmarks
report, they don't assert (the counts say whether anything was lost or duplicated).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.console import postgres  # noqa: E402
from tests.console.conftest import start_server, stop_server  # noqa: E402
from tests.console.reports import scan_report, variant  # noqa: E402


def cli(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "portcullis", *args], capture_output=True,
                          text=True, check=True, env=env).stdout


@contextmanager
def database(backend: str, work: Path) -> Iterator[list[str]]:
    """The server options naming the database."""
    if backend == "sqlite":
        yield []
        return
    with postgres.cluster() as admin_url:
        yield ["--database-url", postgres.fresh_database(admin_url, "bench_console")]


def bodies(base: dict[str, Any], count: int) -> list[bytes]:
    out = []
    for i in range(count):
        doc = variant(base, f"registry:127.0.0.1:5000/team{i % 20}/app{i % 97}:{i}",
                      created_at=f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z")
        out.append(json.dumps(doc).encode())
    return out


def upload_all(url: str, token: str, work: list[bytes], uploaders: int,
               max_seconds: float) -> dict[str, Any]:
    jobs: queue.Queue[bytes] = queue.Queue()
    for item in work:
        jobs.put(item)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < deadline:
                try:
                    data = jobs.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    code = client.post(url + "/api/v1/scans", content=data).status_code
                except httpx.HTTPError as e:
                    with lock:
                        errors.append(type(e).__name__)
                    continue
                spent = time.perf_counter() - started
                with lock:
                    latencies.append(spent)
                    statuses[code] = statuses.get(code, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(uploaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"sent": len(latencies) + len(errors), "not_sent": jobs.qsize(), "errors": errors,
            "statuses": statuses, "wall_s": round(wall, 2),
            "uploads_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(quantiles[49] * 1000, 1), "p95_ms": round(quantiles[94] * 1000, 1),
            "p99_ms": round(quantiles[98] * 1000, 1)}


def count_rows(database_url: str) -> int:
    from sqlalchemy import func, select

    from portcullis.server.db import Database
    from portcullis.server.tables import Scan

    db = Database(database_url)
    try:
        with db.session() as session:
            return session.scalar(select(func.count()).select_from(Scan)) or 0
    finally:
        db.close()


def run_backend(backend: str, base: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        work = Path(tmp)
        with database(backend, work) as options:
            data = work / "data"
            token = cli("server", "token", "create", "--project", "bench", "--data-dir",
                        str(data), *options).split()[-1]
            distinct = bodies(base, args.reports)
            rng = random.Random(7)
            sends = distinct + rng.sample(distinct, min(args.duplicates, len(distinct)))
            rng.shuffle(sends)
            server = start_server(data, *options)
            try:
                result = upload_all(server.url, token, sends, args.uploaders, args.max_seconds)
                total = httpx.get(server.url + "/api/v1/scans", params={"limit": 1},
                                  headers={"Authorization": f"Bearer {token}"}).json()["total"]
            finally:
                log = stop_server(server)
                if args.out:  # the server's own account of any failure
                    args.out.with_name(f"console-server-{backend}.log").write_text(log)
            url = options[1] if options else f"sqlite:///{data / 'console.db'}"
            rows = count_rows(url)
    return {"backend": backend, "reports": args.reports, "duplicates_sent": args.duplicates,
            "uploaders": args.uploaders, "report_bytes": len(distinct[0]), **result,
            "api_total": total, "scan_rows": rows,
            "lost": args.reports - rows if not result["not_sent"] else None,
            "duplicated": max(0, rows - args.reports)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--duplicates", type=int, default=200)
    parser.add_argument("--uploaders", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = scan_report(Path(tmp))
    results = []
    for backend in args.backends.split(","):
        if backend == "postgresql" and postgres.missing():
            print(f"postgresql: skipped ({postgres.missing()})")
            continue
        result = run_backend(backend, base, args)
        results.append(result)
        print(json.dumps(result))
    summary = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "results": results}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
