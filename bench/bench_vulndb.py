"""Vulnerability database benchmark: build time, DB size and peak RSS from the fixture records.

Usage: ``python bench/bench_vulndb.py [--fixtures DIR] [--feeds DIR] [--runs N]
[--full-records N] [--full-json-mb MB] [--full-zip-mb MB] [--full-tracker-mb MB] [--out FILE]``

Zips every ``<Ecosystem>/`` directory of the OSV fixtures (default ../shared/fixtures/osv,
about 8,000 real records, 35 MB of JSON) as an ``all.zip`` export, then, in a fresh child
process per run, builds the database from those zips exactly as ``db update`` does after its
downloads (``portcullis.vulndb.build.build``) and checks it opens. Reports the best wall time,
the max peak RSS of the child (its own VmHWM), the DB size, and 10,000 ``affected_for``
lookups timed in the parent. Target: the fixture DB builds in under 30 s.

Estimate for the full public exports: the build streams (one record in memory at a time,
rows go straight to SQLite), so time and DB size grow linearly with the JSON read. Peak RSS
grows only with the member count of the largest single export, because ``zipfile`` reads a
zip's whole central directory on open: the bench measures those bytes per member
(tracemalloc, in a child) and adds them for ``--full-largest-members`` (default 250,000, an
assumption) to the measured peak. The estimate scales the measured seconds and DB bytes per MB of record JSON
to ``--full-json-mb`` (the total uncompressed size of the default ecosystems' all.zip members;
default 4,000 MB, an assumption: measure it with ``unzip -l`` on the real exports), per zip MB
to ``--full-zip-mb`` (default 600 MB of all.zip files, an assumption: the bucket listing shows
the real sizes) and per record to ``--full-records`` (default 600,000, an assumption of the
same kind). The three disagree where the real mix of records differs from the fixtures' (Go
and PyPI records are small; Debian and Ubuntu records list many releases and versions): take
the largest. MB = 10**6 bytes. Always exits 0: benchmarks report, they don't assert.

Native feeds: the build also reads the Debian tracker JSON and Alpine secdb files of
``--feeds`` (default ../shared/fixtures/distro-advisories; skipped when absent), as
``db update --debian-tracker/--alpine-secdb`` does; their records are counted apart. Unlike an
OSV zip, the tracker JSON is one document held whole while it is read (each package decoded on
its own), so the full-data peak RSS adds ``--full-tracker-mb`` (default 75 MB, an assumption:
the size of https://security-tracker.debian.org/tracker/data/json) to the OSV estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from portcullis.vulndb.store import VulnStore  # noqa: E402

DEFAULT_FIXTURES = REPO.parent / "shared" / "fixtures" / "osv"
DEFAULT_FEEDS = REPO.parent / "shared" / "fixtures" / "distro-advisories"
OUT = REPO / "bench" / "out" / "vulndb.json"
MB = 10**6

CHILD = """
import json, sys, time
from pathlib import Path
from portcullis.vulndb.build import Download, build, now_utc
from portcullis.vulndb.store import check_database
spec = json.loads(sys.argv[1])
downloads = [Download(e, "file://" + p, Path(p), now_utc(), None, Path(p).stat().st_size)
             for e, p in spec["zips"]]
downloads += [Download(k, "file://" + p, Path(p), now_utc(), None, Path(p).stat().st_size,
                       kind=k) for k, p in spec["feeds"]]
start = time.perf_counter()
result = build(Path(spec["db"]), downloads)
check_database(Path(spec["db"]))
seconds = time.perf_counter() - start
# This process's own high-water mark (wait4's ru_maxrss would carry the parent's across exec).
hwm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
           if line.startswith("VmHWM:"))
feed_records = sum(s.records for s in result.meta.sources if s.ecosystem in
                   ("debian-tracker", "alpine-secdb"))
print(json.dumps({"seconds": seconds, "vulnerabilities": result.meta.vulnerabilities,
                  "feed_records": feed_records,
                  "affected": result.meta.affected, "skipped": result.meta.skipped,
                  "peak_rss": hwm}))
"""


def make_zips(fixtures: Path, work: Path) -> tuple[list[tuple[str, str]], int, int]:
    """(ecosystem, zip path) pairs, total JSON bytes, total records."""
    zips = []
    json_bytes = records = 0
    for eco_dir in sorted(p for p in fixtures.iterdir() if p.is_dir()):
        path = work / f"{eco_dir.name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for record in sorted(eco_dir.glob("*.json")):
                zf.write(record, record.name)
                json_bytes += record.stat().st_size
                records += 1
        zips.append((eco_dir.name, str(path)))
    return zips, json_bytes, records


def feed_files(feeds: Path) -> list[tuple[str, str]]:
    """(kind, path) of the native feed samples: Debian tracker JSON, Alpine secdb YAML."""
    if not feeds.is_dir():
        return []
    return ([("debian-tracker", str(p)) for p in sorted((feeds / "debian").glob("*.json"))]
            + [("alpine-secdb", str(p)) for p in sorted((feeds / "alpine").glob("*.yaml"))])


def run_child(zips: list[tuple[str, str]], feeds: list[tuple[str, str]],
              db: Path) -> tuple[dict[str, float], int]:
    """The child's report and its peak RSS in bytes."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    spec = json.dumps({"zips": zips, "feeds": feeds, "db": str(db)})
    proc = subprocess.Popen([sys.executable, "-c", CHILD, spec], stdout=subprocess.PIPE,
                            env=env)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"build child failed with {proc.returncode}")
    report = json.loads(out)
    return report, int(report["peak_rss"])


ZIPINFO_CHILD = """
import json, sys, tracemalloc, zipfile
tracemalloc.start()
archive = zipfile.ZipFile(sys.argv[1])
size, _ = tracemalloc.get_traced_memory()
print(json.dumps({"members": len(archive.infolist()), "bytes": size}))
"""


def central_directory_cost(zips: list[tuple[str, str]]) -> float:
    """Bytes of memory per zip member that ``zipfile`` holds for the central directory (the
    one part of the build that grows with the export: every ZipInfo is read on open)."""
    largest = max((p for _, p in zips), key=lambda p: Path(p).stat().st_size)
    out = subprocess.run([sys.executable, "-c", ZIPINFO_CHILD, largest], capture_output=True,
                         text=True, check=True).stdout
    measured = json.loads(out)
    return float(measured["bytes"]) / max(1, measured["members"])


def time_lookups(db: Path, n: int = 10_000) -> float:
    names = [("PyPI", "requests"), ("PyPI", "Django"), ("Go", "golang.org/x/net"),
             ("crates.io", "openssl"), ("npm", "lodash"), ("Ubuntu:22.04", "curl"),
             ("PyPI", "no-such-package"), ("Maven", "org.apache.logging.log4j:log4j-core")]
    with VulnStore(db) as store:
        start = time.perf_counter()
        for i in range(n):
            store.affected_for(*names[i % len(names)])
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS)
    parser.add_argument("--full-tracker-mb", type=float, default=75)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full-records", type=int, default=600_000)
    parser.add_argument("--full-json-mb", type=float, default=4_000)
    parser.add_argument("--full-zip-mb", type=float, default=600)
    parser.add_argument("--full-largest-members", type=int, default=250_000)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not args.fixtures.is_dir():
        raise SystemExit(f"no fixtures at {args.fixtures}")
    with tempfile.TemporaryDirectory(prefix="bench-vulndb-") as tmp:
        work = Path(tmp)
        zips, json_bytes, records = make_zips(args.fixtures, work)
        zip_bytes = sum(Path(p).stat().st_size for _, p in zips)
        db = work / "vuln.db"
        feeds = feed_files(args.feeds)
        feed_bytes = sum(Path(p).stat().st_size for _, p in feeds)
        runs = [run_child(zips, feeds, db) for _ in range(max(1, args.runs))]
        seconds = min(r[0]["seconds"] for r in runs)
        rss = max(r[1] for r in runs)
        report = runs[0][0]
        db_bytes = db.stat().st_size
        lookup_seconds = time_lookups(db)
        per_member = central_directory_cost(zips)
    # The rates count the feed files as input and their records as records (both tiny here).
    json_bytes += feed_bytes
    records += int(report["feed_records"])
    json_mb = json_bytes / MB
    result = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
        "fixture_records": records - int(report["feed_records"]),
        "fixture_json_mb": round((json_bytes - feed_bytes) / MB, 1),
        "fixture_zip_mb": round(zip_bytes / MB, 1),
        "feed_files": len(feeds),
        "feed_mb": round(feed_bytes / MB, 2),
        "vulnerabilities": report["vulnerabilities"],
        "of_which_feed_records": report["feed_records"],
        "affected_rows": report["affected"],
        "skipped": report["skipped"],
        "build_seconds_best": round(seconds, 2),
        "peak_rss_mb": round(rss / MB, 1),
        "db_mb": round(db_bytes / MB, 1),
        "lookups_per_second": round(10_000 / lookup_seconds),
        "rates": {
            "build_seconds_per_json_mb": round(seconds / json_mb, 3),
            "db_bytes_per_json_byte": round(db_bytes / json_bytes, 3),
            "build_ms_per_record": round(seconds / records * 1000, 3),
        },
        "target_build_under_30s": seconds < 30,
        "estimate_full": {
            "assumed_json_mb": args.full_json_mb,
            "assumed_records": args.full_records,
            "build_seconds_by_json": round(seconds / json_mb * args.full_json_mb),
            "db_mb_by_json": round(db_bytes / json_mb * args.full_json_mb / MB),
            "assumed_zip_mb": args.full_zip_mb,
            "build_seconds_by_zip": round(seconds / (zip_bytes / MB) * args.full_zip_mb),
            "db_mb_by_zip": round(db_bytes / zip_bytes * args.full_zip_mb),
            "build_seconds_by_records": round(seconds / records * args.full_records),
            "db_mb_by_records": round(db_bytes / records * args.full_records / MB),
            "assumed_members_of_largest_export": args.full_largest_members,
            "zip_directory_bytes_per_member": round(per_member),
            "peak_rss_mb": round((rss + per_member * args.full_largest_members) / MB),
            "assumed_tracker_mb": args.full_tracker_mb,
            "peak_rss_mb_with_tracker": round((rss + per_member * args.full_largest_members)
                                              / MB + args.full_tracker_mb),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<{width}} {v}")
        else:
            print(f"{key:<{width}} {value}")
    print(f"(written to {args.out})")


if __name__ == "__main__":
    main()
