"""Secret benchmark: the layer pass with the secret scanner against the layer pass alone.

Usage: ``python bench/bench_secrets.py [--runs N] [--cache DIR]``

On the real Debian test image (tests/images/debian.py: Debian minbase, apt packages, pip and
npm packages; built on first use), in this process, N runs of each, interleaved so that a
burst of load from others hits both alike:

1. **read**: the engine with no analyzer at all: read, verify and index every layer and build
   the squashed view (what any scan of the image costs);
2. **secret**: the same with the ``secret-files`` and ``secret-config`` analyzers, i.e. every
   text file of every layer through the keyword prefilter and the rules.

Medians of wall and CPU seconds (this process's CPU time, the steadier figure on a shared
machine), the ratio secret / read, the secret analyzers' own seconds as the engine counts
them, and the one-off cost of loading the rules and building the keyword automaton. Target: ratio under 1.5.
Results also go to bench/out/secrets.json. Always exits 0: benchmarks report, they don't
assert.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for where in (REPO, REPO / "src"):
    if str(where) not in sys.path:
        sys.path.insert(0, str(where))

from tests.images.debian import debian_image, default_cache_root  # noqa: E402

from portcullis.analyze.engine import EngineOptions, run  # noqa: E402
from portcullis.analyze.secrets.analyzer import SecretConfig, SecretFiles, matcher  # noqa: E402
from portcullis.analyze.secrets.rules import load_ruleset  # noqa: E402
from portcullis.source.base import SourceOptions  # noqa: E402
from portcullis.source.resolve import open_image  # noqa: E402

OUT = REPO / "bench" / "out" / "secrets.json"
TARGET_RATIO = 1.5


def one_pass(ref: str, analyzers: list[object]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, secret analyzers' s, secret findings) of one engine run."""
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as tmp:
        wall, cpu = time.perf_counter(), time.process_time()
        with open_image(ref, SourceOptions()) as image:
            engine = run(image, analyzers, EngineOptions(temp_dir=tmp))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        engine.view.close()
    status = engine.statuses.get("secret")
    found = sum(1 for f in engine.result.findings if f.kind == "secret")
    return wall, cpu, status.seconds if status else 0.0, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=default_cache_root())
    args = parser.parse_args(argv)

    image = debian_image(args.cache)
    ref = f"oci:{image.oci_dir}:{image.ref}"
    started = time.perf_counter()
    load_ruleset.cache_clear()
    matcher.cache_clear()
    rules = matcher(None).ruleset  # the TOML and the keyword automaton
    load_s = time.perf_counter() - started

    runs: dict[str, list[tuple[float, float, float, int]]] = {"read": [], "secret": []}
    one_pass(ref, [])  # warm the page cache and imports
    for _ in range(args.runs):
        runs["read"].append(one_pass(ref, []))
        runs["secret"].append(one_pass(ref, [SecretFiles(), SecretConfig()]))

    def median(mode: str, i: int) -> float:
        return statistics.median(r[i] for r in runs[mode])

    result: dict[str, Any] = {
        "image": ref, "runs": args.runs, "rules": len(rules.rules),
        "rules_load_s": round(load_s, 3), "load_avg": os.getloadavg()[0],
        "read_wall_s": round(median("read", 0), 3), "read_cpu_s": round(median("read", 1), 3),
        "secret_wall_s": round(median("secret", 0), 3),
        "secret_cpu_s": round(median("secret", 1), 3),
        "secret_analyzers_s": round(median("secret", 2), 3),
        "secret_findings": runs["secret"][0][3],
        "all": runs,
    }
    result["wall_ratio"] = round(result["secret_wall_s"] / result["read_wall_s"], 2)
    result["cpu_ratio"] = round(result["secret_cpu_s"] / result["read_cpu_s"], 2)
    print(f"image: {ref}  ({args.runs} runs, load avg {result['load_avg']:.1f})")
    print(f"rules: {result['rules']} loaded in {load_s:.3f} s, once per process (a rule's "
          "regex compiles when its keyword first hits)")
    print(f"{'':10}{'wall s':>9}{'cpu s':>9}")
    print(f"{'read':10}{result['read_wall_s']:>9.3f}{result['read_cpu_s']:>9.3f}")
    print(f"{'secret':10}{result['secret_wall_s']:>9.3f}{result['secret_cpu_s']:>9.3f}")
    for kind in ("wall", "cpu"):
        ratio = result[f"{kind}_ratio"]
        mark = "ok" if ratio < TARGET_RATIO else "OVER"
        print(f"{kind} ratio secret/read: {ratio:.2f} (target < {TARGET_RATIO}) {mark}")
    print(f"secret analyzers' own time: {result['secret_analyzers_s']:.3f} s; "
          f"secret findings: {result['secret_findings']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
