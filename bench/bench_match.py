"""Matching benchmark: how long ``match_packages`` takes for an inventory, against a database
built from real OSV records.

Usage: ``python bench/bench_match.py [--fixtures DIR] [--packages N] [--typical N] [--runs N]
[--seed N] [--out FILE]``

Builds a database from every ``<Ecosystem>/`` directory of the OSV fixtures (default
../shared/fixtures/osv when present, else tests/data/osv) exactly as ``db update`` does after
its downloads. Then draws an inventory from the package names those records affect (every
ecosystem in the fixtures, OS packages with the distribution of their records), each with a
version inside an affected range (an introduced or listed version) or outside it (a fixed
version), each name once and picked uniformly (not weighted by its record count), plus
names no record knows (a fifth of the inventory, more when the records name fewer packages).
Times ``match_packages`` for the whole inventory (default 5,000 packages) and for a "typical
image" (default 300 packages drawn from it), best of N runs (default 5), each with a freshly
opened store (no warm per-store cache carries over). Target: under 200 ms for the typical
image. Also times a worst case: as many packages as the typical image, drawn weighted by
record count (repeats allowed), so the names with hundreds of advisories dominate. Results also go to bench/out/match.json. Always exits 0: benchmarks report, they
don't assert.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from portcullis.model.distro import Distro  # noqa: E402
from portcullis.model.package import Package  # noqa: E402
from portcullis.vulndb.build import Download, build, now_utc  # noqa: E402
from portcullis.vulndb.match import LANGUAGE_ECOSYSTEMS, match_packages  # noqa: E402
from portcullis.vulndb.store import VulnStore  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vulndb import make_zips  # noqa: E402

SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "osv"
TEST_FIXTURES = REPO / "tests" / "data" / "osv"
OUT = REPO / "bench" / "out" / "match.json"
TARGET_MS = 200.0
TYPES = {eco: kind for kind, eco in LANGUAGE_ECOSYSTEMS.items()}
OS_TYPES = {"Ubuntu": ("deb", "ubuntu"), "Debian": ("deb", "debian"),
            "Alpine": ("apk", "alpine"), "AlmaLinux": ("rpm", "almalinux")}


def build_db(fixtures: Path, work: Path) -> tuple[Path, int]:
    zips, _, records = make_zips(fixtures, work)  # the export layout, as bench_vulndb makes it
    downloads = [Download(eco, f"file://{path}", Path(path), now_utc(), None,
                          Path(path).stat().st_size) for eco, path in zips]
    db = work / "vuln.db"
    build(db, downloads)
    return db, records


def _versions(affected: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(versions inside a range, versions outside) named by one affected entry."""
    inside = [v for v in affected.get("versions") or [] if isinstance(v, str)]
    outside = []
    for rng in affected.get("ranges") or []:
        for event in rng.get("events") or []:
            introduced = event.get("introduced")
            if isinstance(introduced, str) and introduced != "0":
                inside.append(introduced)
            fixed = event.get("fixed")
            if isinstance(fixed, str):
                outside.append(fixed)
    return inside, outside


def candidates(fixtures: Path) -> tuple[list[tuple[str, str, str, bool]], Distro | None]:
    """(type, name, version, expected inside) drawn from the records, and the OS release of
    the most common OS ecosystem among them."""
    out: list[tuple[str, str, str, bool]] = []
    releases: dict[tuple[str, str], int] = {}
    for record_path in sorted(fixtures.glob("*/*.json")):
        record = json.loads(record_path.read_bytes())
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            eco, name = str(package.get("ecosystem", "")), package.get("name")
            if not isinstance(name, str):
                continue
            base, _, release = eco.partition(":")
            kind = TYPES.get(base) or (OS_TYPES[base][0] if base in OS_TYPES else None)
            if kind is None:
                continue
            if base in OS_TYPES and release:
                key = (base, release.split(":")[0])
                releases[key] = releases.get(key, 0) + 1
            inside, outside = _versions(affected)
            out += [(kind, name, v, True) for v in inside[:2]]
            out += [(kind, name, v, False) for v in outside[:2]]
    distro = None
    if releases:
        (base, release), _ = max(releases.items(), key=lambda kv: kv[1])
        distro = Distro(family=OS_TYPES[base][1], name=base, version=release)
    return out, distro


def inventory(pool: list[tuple[str, str, str, bool]], n: int, rng: random.Random) -> list[Package]:
    """``n`` packages as an image has them: each name once (picked uniformly among the names,
    not weighted by how many records a name has), a fifth of them unknown to every record."""
    by_name: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for kind, name, version, inside in pool:
        by_name.setdefault((kind, name), []).append((version, inside))
    names = sorted(by_name)
    known = rng.sample(names, min(len(names), int(n * 0.8)))
    packages = [Package(name=name, version=rng.choice(by_name[(kind, name)])[0], type=kind)
                for kind, name in known]
    packages += [Package(name=f"bench-unknown-{i}", version="1.0.0", type="python")
                 for i in range(n - len(packages))]
    rng.shuffle(packages)
    return packages


def weighted(pool: list[tuple[str, str, str, bool]], n: int, rng: random.Random) -> list[Package]:
    """The worst case: names drawn by how many records name them, repeats allowed, so
    packages with hundreds of advisories (tensorflow, the Go stdlib) dominate."""
    return [Package(name=name, version=version, type=kind)
            for kind, name, version, _ in (rng.choice(pool) for _ in range(n))]


def best_of(runs: int, db: Path, packages: list[Package],
            distro: Distro | None) -> tuple[float, int]:
    best = float("inf")
    findings = 0
    for _ in range(runs):
        with VulnStore(db) as store:
            start = time.perf_counter()
            result = match_packages(packages, distro, store)
            best = min(best, time.perf_counter() - start)
            findings = len(result.findings)
    return best, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = SHARED_FIXTURES if SHARED_FIXTURES.is_dir() else TEST_FIXTURES
    parser.add_argument("--fixtures", type=Path, default=default)
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--typical", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        start = time.perf_counter()
        db, records = build_db(args.fixtures, Path(tmp))
        build_seconds = time.perf_counter() - start
        pool, distro = candidates(args.fixtures)
        large = inventory(pool, args.packages, rng)
        typical = large[:args.typical]
        large_s, large_findings = best_of(args.runs, db, large, distro)
        typical_s, typical_findings = best_of(args.runs, db, typical, distro)
        heavy = weighted(pool, args.typical, rng)
        heavy_s, heavy_findings = best_of(args.runs, db, heavy, distro)
    result = {
        "fixtures": str(args.fixtures), "records": records, "build_seconds": build_seconds,
        "distro": f"{distro.family} {distro.version}" if distro else None,
        "names_in_records": len({(k, n) for k, n, _, _ in pool}),
        "packages": len(large), "packages_ms": large_s * 1000,
        "packages_findings": large_findings,
        "typical": len(typical), "typical_ms": typical_s * 1000,
        "typical_findings": typical_findings, "target_ms": TARGET_MS,
        "weighted_ms": heavy_s * 1000, "weighted_findings": heavy_findings,
        "runs": args.runs, "python": platform.python_version(),
    }
    print(f"database: {records} records from {args.fixtures} (built in {build_seconds:.1f} s)")
    print(f"{result['names_in_records']} package names in the records")
    print(f"{len(large)} packages: {large_s * 1000:.1f} ms best of {args.runs}, "
          f"{large_findings} findings")
    verdict = "meets" if typical_s * 1000 < TARGET_MS else "MISSES"
    print(f"typical image, {len(typical)} packages: {typical_s * 1000:.1f} ms, "
          f"{typical_findings} findings ({verdict} the {TARGET_MS:.0f} ms target)")
    print(f"worst case, {len(heavy)} packages weighted by record count: {heavy_s * 1000:.1f} ms, "
          f"{heavy_findings} findings")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
