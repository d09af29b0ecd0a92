"""Version-scheme and OSV range-evaluation micro benchmark.

Usage: ``python bench/bench_versions.py [--osv DIR] [--seconds S] [--out FILE]``

1. Per scheme, on a fixed list of realistic versions of that ecosystem: parses per second
   (``scheme.key``), comparisons per second of ready keys (``<`` on every ordered pair), and
   parse-and-compare per second (both keys built each time, the cost when nothing is cached).
2. Range evaluation over every record of the OSV fixture directory (default
   ``../shared/fixtures/osv`` beside the checkout, else ``tests/data/osv``): for each
   ``affected`` entry whose ecosystem has a scheme, ``evaluate_entry`` is run for every version
   its events and ``versions`` list name (each probe is a real version of that package).
   Reports evaluations per second, how many came out affected, and the problems met
   (unparsable bounds per ecosystem: the versions a matcher would warn about).

Prints a table and writes bench/out/versions.json. Always exits 0: benchmarks report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from portcullis.vulndb.ranges import evaluate_entry  # noqa: E402
from portcullis.vulndb.versions import UnknownEcosystem, scheme_for  # noqa: E402

SAMPLES: dict[str, list[str]] = {
    "Debian": ["1:2.38.1-5+b1", "2.38.1-5", "1.0~rc1-1", "7.88.1-10+deb12u5", "3.0.11-1~deb12u2",
               "2.36-9+deb12u4", "1.2.13.dfsg-1", "252.22-1~deb12u1"],
    "Red Hat": ["3.0.7-16.el9_2", "1:3.0.7-17.el9", "0.8-20.el9", "2.34-60.el9", "1.0^git1-1.fc39",
                "5.1.8-6.el9", "1.0~rc1-1.el9", "252-18.el9"],
    "Alpine": ["1.2.4-r0", "3.1.0-r4", "1.36.0-r9", "1.2.3_rc1-r0", "2.4.57_p1-r2", "8.1.2_git20230215-r0",
               "1.2.13-r1", "3.1.4-r5"],
    "PyPI": ["2.31.0", "1.26.18", "2.0.0rc1", "1.0.post1", "3.1.2", "0.9.dev3", "1!2.0", "22.0.4"],
    "npm": ["4.17.21", "1.2.6", "6.5.2", "1.0.0-beta.11", "7.5.10", "18.2.0", "0.0.1-alpha.1", "2.0.0"],
    "Go": ["v0.17.0", "v1.2.4-0.20191109021931-daa7c04131f5", "v2.7.1+incompatible", "go1.21.3",
           "v0.0.0-20200131131040-063a3fb69896", "v1.59.0", "v1.22.0-rc.1", "v0.14.0"],
    "Maven": ["2.15.0", "2.13.2.1", "31.1-jre", "5.3.18", "2.0-beta9", "1.0-SNAPSHOT", "3.12.0",
              "2.12.6.1"],
    "RubyGems": ["1.13.4", "7.0.8", "1.13.4.rc1", "2.8.5", "3.2.0.pre", "1.16.3", "0.9.2", "6.1.7.6"],
    "Packagist": ["1.0.0", "v2.3.4", "1.0.0-beta1", "5.4.40", "2.0.0-RC2", "1.2.3-p1", "3.0.0-dev",
                  "10.48.4"],
    "NuGet": ["13.0.1", "12.0.3", "6.0.0-preview.7.21377.19", "4.7.2", "1.0.0.1", "8.0.0-rc.2",
              "5.2.9", "2.1.1"],
}


def _rate(work: Callable[[], int], seconds: float) -> float:
    """Operations per second of ``work`` (which returns how many it did), run for ~seconds."""
    done, start = 0, time.perf_counter()
    while True:
        done += work()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def bench_schemes(seconds: float) -> list[dict[str, Any]]:
    rows = []
    for ecosystem, versions in SAMPLES.items():
        scheme = scheme_for(ecosystem)
        keys = [scheme.key(v) for v in versions]
        pairs = [(a, b) for a in keys for b in keys]
        text_pairs = [(a, b) for a in versions for b in versions]

        def parse(scheme: Any = scheme, versions: list[str] = versions) -> int:
            for v in versions:
                scheme.key(v)
            return len(versions)

        def compare(pairs: list[tuple[Any, Any]] = pairs) -> int:
            for a, b in pairs:
                _ = a < b
            return len(pairs)

        def parse_compare(scheme: Any = scheme, text_pairs: list[tuple[str, str]] = text_pairs
                          ) -> int:
            for a, b in text_pairs:
                _ = scheme.key(a) < scheme.key(b)
            return len(text_pairs)

        rows.append({"ecosystem": ecosystem, "scheme": scheme.name,
                     "parses_per_s": _rate(parse, seconds),
                     "compares_per_s": _rate(compare, seconds),
                     "parse_and_compare_per_s": _rate(parse_compare, seconds)})
    return rows


def _probes(entry: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for rng in entry.get("ranges") or []:
        if rng.get("type") == "GIT":
            continue
        for event in rng.get("events") or []:
            for kind, value in event.items():
                if isinstance(value, str) and not (kind == "introduced" and value == "0") \
                        and value != "*":
                    seen[value] = None
    for value in entry.get("versions") or []:
        if isinstance(value, str):
            seen[value] = None
    return list(seen)


def bench_ranges(osv_dir: Path) -> dict[str, Any]:
    work: list[tuple[str, dict[str, Any], str]] = []
    records, skipped = 0, Counter[str]()
    for path in sorted(osv_dir.rglob("*.json")):
        record = json.loads(path.read_bytes())
        records += 1
        for entry in record.get("affected") or []:
            ecosystem = (entry.get("package") or {}).get("ecosystem", "")
            try:
                scheme_for(ecosystem)
            except UnknownEcosystem:
                skipped[ecosystem] += 1
                continue
            work.extend((ecosystem, entry, v) for v in _probes(entry))
    start = time.perf_counter()
    verdicts = [(eco, evaluate_entry(v, entry)) for eco, entry, v in work]
    elapsed = time.perf_counter() - start
    problems: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for eco, verdict in verdicts:
        for problem in verdict.problems:
            base = eco.split(":", 1)[0]
            problems[base] += 1
            examples.setdefault(base, problem)
    return {
        "osv_dir": str(osv_dir), "records": records, "evaluations": len(work),
        "seconds": elapsed, "evaluations_per_s": len(work) / elapsed if elapsed else 0.0,
        "affected": sum(1 for _, v in verdicts if v.affected),
        "problems_by_ecosystem": dict(problems), "problem_examples": examples,
        "entries_without_scheme": dict(skipped),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO.parent / "shared" / "fixtures" / "osv"
    parser.add_argument("--osv", type=Path,
                        default=default if default.is_dir() else REPO / "tests" / "data" / "osv")
    parser.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "versions.json")
    args = parser.parse_args()

    schemes = bench_schemes(args.seconds)
    print(f"{'ecosystem':<10} {'scheme':<9} {'parse/s':>10} {'compare/s':>11} {'parse+cmp/s':>12}")
    for row in schemes:
        print(f"{row['ecosystem']:<10} {row['scheme']:<9} {row['parses_per_s']:>10,.0f} "
              f"{row['compares_per_s']:>11,.0f} {row['parse_and_compare_per_s']:>12,.0f}")
    ranges = bench_ranges(args.osv)
    print(f"\nrange evaluation over {ranges['records']} records in {ranges['osv_dir']}:")
    print(f"  {ranges['evaluations']:,} evaluations in {ranges['seconds']:.2f} s = "
          f"{ranges['evaluations_per_s']:,.0f}/s, {ranges['affected']:,} affected")
    for eco, count in sorted(ranges["problems_by_ecosystem"].items()):
        print(f"  problems {eco}: {count} (e.g. {ranges['problem_examples'][eco]})")
    if ranges["entries_without_scheme"]:
        print(f"  entries without a scheme: {ranges['entries_without_scheme']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"schemes": schemes, "ranges": ranges}, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
