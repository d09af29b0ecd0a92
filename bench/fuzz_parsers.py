"""Fuzz the package-database parsers: ``python bench/fuzz_parsers.py [--inputs N] [--seed S]``.

Feeds N inputs (default 100,000), round-robin over the targets of
tests/property/parser_targets.py: a third random bytes, the rest mutated seeds (inserted,
deleted, repeated and deeply nested runs; one in 500 has a slice repeated ~100,000 times) and, for JSON parsers, random JSON documents. An
input passes when its parser returns or raises one of its declared errors; any other exception
is a crash, and an input that takes longer than ``--hang`` seconds is a hang (stopped by a
timer). Crashers are written to bench/out/fuzz-crashers/ to be kept as test examples. Prints
the count, the time, the slowest input per target and the crashes; exits 1 if there were any.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.property.parser_targets import TARGETS, Target, check, mutate  # noqa: E402

_KEYS = ["name", "version", "packages", "dependencies", "default", "libraries", "targets",
         "license", "node_modules/a", "type", "packages-dev", "resolved", "develop", ""]


class Hang(Exception):
    pass


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hang


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 6 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-10**12, 10**12)
    if kind == 3:
        return rng.choice(["1.0.0", "==2.0", "npm:a@1", "", "x" * rng.randrange(50), "\udcff"])
    if kind == 4:
        return rng.random() * 1e6
    if kind in (5, 6):
        return {rng.choice(_KEYS): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}
    return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]


def make_input(rng: random.Random, target: Target) -> bytes:
    roll = rng.random()
    if roll < 1 / 3 or not target.seeds:
        return rng.randbytes(rng.randrange(1024))
    if target.json and roll < 1 / 2:
        return json.dumps(random_json(rng), ensure_ascii=rng.random() < 0.5,
                          default=str).encode("utf-8", "surrogateescape")
    ops = [(rng.randrange(1 << 16), rng.randrange(5), rng.randbytes(rng.randrange(12)))
           for _ in range(rng.randrange(1, 8))]
    data = mutate(rng.choice(target.seeds), ops)
    if roll > 0.998:  # now and then a big one: a slice repeated ~100,000 times finds the
        at = rng.randrange(len(data) + 1)  # quadratic spots that small inputs hide
        piece = data[at:at + rng.randrange(1, 8)] or b" "
        data = data[:at] + piece * rng.randrange(50_000, 150_000) + data[at:]
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "fuzz-crashers")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _on_alarm)
    crashes: list[tuple[str, str, bytes]] = []
    slowest: dict[str, float] = {}
    started = time.perf_counter()
    for number in range(args.inputs):
        target = TARGETS[number % len(TARGETS)]
        data = make_input(rng, target)
        begun = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.hang)
        try:
            error: BaseException | None = check(target, data)
        except Hang:
            error = Hang(f"over {args.hang} s")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        spent = time.perf_counter() - begun
        slowest[target.name] = max(slowest.get(target.name, 0.0), spent)
        if error is not None:
            crashes.append((target.name, f"{type(error).__name__}: {error}"[:200], data))
    elapsed = time.perf_counter() - started
    print(f"{args.inputs} inputs over {len(TARGETS)} parsers in {elapsed:.1f} s "
          f"({args.inputs / elapsed:.0f}/s), {len(crashes)} crashes")
    for name, seconds in sorted(slowest.items(), key=lambda item: -item[1])[:5]:
        print(f"  slowest {name}: {seconds * 1000:.1f} ms")
    if crashes:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, reason, data in crashes[:50]:
            digest = hashlib.sha256(data).hexdigest()[:16]
            (args.out / f"{name}-{digest}.bin").write_bytes(data)
            print(f"  CRASH {name} {digest}: {reason}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
