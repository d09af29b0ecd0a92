"""Long fuzz run over the manifest, index, descriptor and config decoders.

Usage: ``python bench/fuzz_decoders.py [--count N] [--seed S] [--save-crashes]``

Draws N inputs (default 100,000) round-robin over the decoders of tests/property/decoders.py,
each a seeded mutation of a real document (a subtree swapped for a random JSON value, deep
nesting around it, or damaged bytes), and feeds it to the decoder. The law: a record or a
PortcullisError. It prints the count, the wall time, how many inputs decoded or were refused,
the slowest input, and every crash (any other exception, or one input slower than 2 s).
With ``--save-crashes`` each crashing input is written to tests/property/fuzz_corpus/ so the
test suite replays it. Exits 1 when something crashed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for entry in (REPO, REPO / "src"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from tests.property.decoders import CORPUS, DECODERS, mutate, outcome, seeds  # noqa: E402

SLOW = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-crashes", action="store_true")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    docs = seeds()
    names = sorted(DECODERS)
    outcomes: Counter[str] = Counter()
    crashes: list[tuple[str, bytes, str]] = []
    slowest = (0.0, "", b"")
    start = time.monotonic()
    for i in range(args.count):
        decoder = names[i % len(names)]
        data = mutate(rng, rng.choice(docs[decoder]))
        t0 = time.monotonic()
        kind, crash = outcome(decoder, data)
        spent = time.monotonic() - t0
        if spent > slowest[0]:
            slowest = (spent, decoder, data)
        if crash is None and spent > SLOW:
            kind, crash = "crash", f"took {spent:.1f} s"
        outcomes[f"{decoder}: {kind}"] += 1
        if crash:
            crashes.append((decoder, data, crash))
    elapsed = time.monotonic() - start

    print(f"inputs: {args.count}  seed: {args.seed}  time: {elapsed:.1f} s "
          f"({args.count / elapsed:,.0f} inputs/s)")
    for key in sorted(outcomes):
        print(f"  {key}: {outcomes[key]}")
    print(f"slowest input: {slowest[0] * 1000:.1f} ms ({slowest[1]}, {len(slowest[2])} bytes)")
    print(f"crashes: {len(crashes)}")
    for n, (decoder, data, crash) in enumerate(crashes[:20]):
        print(f"--- {decoder}: {data[:120]!r}\n{crash.strip().splitlines()[-1]}")
        if args.save_crashes:
            CORPUS.mkdir(parents=True, exist_ok=True)
            (CORPUS / f"{decoder}-crash-{args.seed}-{n}.json").write_bytes(data)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
