"""Layer-reading benchmark: how close does ``portcullis scan`` get to plain decompression?

Usage: ``python bench/bench_layers.py [--image debian|big|both] [--cache DIR] [--runs N]``

For each image it measures

1. the floor: wall time of ``gzip -dc BLOB > /dev/null`` (``zstd -dc`` / ``cat`` for zstd /
   uncompressed blobs) summed over the image's layer blobs, best of N;
2. the scan: wall time and peak RSS of ``python -m portcullis scan oci:DIR:REF --scanners none
   --format json --quiet --output /dev/null --no-cache`` in a fresh child process per run (peak
   RSS from that child's own rusage via ``os.wait4``), best of N for time, max for RSS;

and prints a table (targets: scan/floor <= 1.5, peak RSS < 150 MB) that is also written to
bench/out/layers.json. Images: the real Debian image of tests/images/debian.py and a generated
image with one ~500 MB (uncompressed) gzip layer, both cached under $PORTCULLIS_TEST_CACHE or
~/.cache/portcullis-tests. MB = 10**6 bytes. Always exits 0: benchmarks report, they don't assert.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import inspect
import itertools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.images import kit  # noqa: E402
from tests.images.debian import cached_build, debian_image, default_cache_root  # noqa: E402

OUT = REPO / "bench" / "out" / "layers.json"
MB = 1_000_000
TARGET_RATIO = 1.5
TARGET_RSS_MB = 150.0

# --------------------------------------------------------------------------------------------
# The generated image: one ~500 MB gzip layer

BIG_TOTAL = 500 * MB
BIG_LARGEST = 50 * MB
BIG_REF = "latest"
BIG_SEED = 42


def _text_pool(rng: random.Random, size: int = 5 * MB) -> bytes:
    """Source-, log- and config-like text from a Zipf vocabulary (gzip -6 ratio about 4)."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    vocab = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(600)]
    cum = list(itertools.accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(vocab))))
    templates = [
        "{a} {b} {c} {d} {e} {f}",
        "{a}_{b} = {n}",
        "    def {a}_{b}(self, {c}, {d}):\n        return self.{e}({c})",
        "# {a} {b} {c} {d} {e} {f} {g}.",
        '2024-05-{m:02d}T12:{m:02d}:00Z INFO component={a} msg="{b} {c} {d}" status={n}',
        '<{a} name="{b}" value="{c}"/>',
    ]
    lines: list[str] = []
    length = 0
    while length < size:
        w = rng.choices(vocab, cum_weights=cum, k=7)
        line = rng.choice(templates).format(
            a=w[0], b=w[1], c=w[2], d=w[3], e=w[4], f=w[5], g=w[6],
            n=rng.randint(0, 999), m=rng.randint(0, 59),
        )
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines).encode()[:size]


def _content(rng: random.Random, pool: bytes, kind: str, size: int) -> bytes:
    """``text``: slices of the pool; ``random``: incompressible (media, archives);
    ``binary``: ELF-like 4 KiB blocks, half random, some zero padding, some text tables."""
    if kind == "random":
        return rng.randbytes(size)
    out = bytearray()
    while len(out) < size:
        if kind == "text":
            start = rng.randrange(len(pool) - 65536)
            out += pool[start : start + rng.randint(16384, 65536)]
            continue
        x = rng.random()
        if x < 0.5:
            out += rng.randbytes(4096)
        elif x < 0.8:
            out += bytes(4096)
        else:
            start = rng.randrange(len(pool) - 4096)
            out += pool[start : start + 4096]
    return bytes(out[:size])


def _file_plan(rng: random.Random) -> list[tuple[str, str, int]]:
    """(path, kind, size): mostly small files, some medium, a few large; ~BIG_TOTAL bytes."""
    plan: list[tuple[str, str, int]] = [("opt/big/data/blob-0000.bin", "binary", BIG_LARGEST)]
    total = BIG_LARGEST
    i = 1
    while total < BIG_TOTAL:
        x = rng.random()
        if x < 0.9:
            low, high = 1024, 100_000
        elif x < 0.99:
            low, high = 100_000, 5 * MB
        else:
            low, high = 5 * MB, BIG_LARGEST
        size = min(int(low * (high / low) ** rng.random()), BIG_TOTAL - total + 1024)
        y = rng.random()
        if y < 0.6:
            kind, ext = "text", "txt"
        elif y < 0.9:
            kind, ext = "binary", "so"
        else:
            kind, ext = "random", "gz"
        plan.append((f"opt/big/d{i % 64:02d}/f{i:05d}.{ext}", kind, size))
        total += size
        i += 1
    return plan


class _LayerSink:
    """A write-only stream: hashes the tar (diff_id), gzips it to a file and hashes that."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.size = 0
        self.compressed = 0
        self.zip = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip wrapper, mtime 0

    def _emit(self, data: bytes) -> None:
        self.out.write(data)
        self.blob.update(data)
        self.compressed += len(data)

    def write(self, data: bytes) -> int:
        self.diff.update(data)
        self.size += len(data)
        self._emit(self.zip.compress(data))
        return len(data)

    def close(self) -> None:
        self._emit(self.zip.flush())


def build_big_image(out: Path) -> None:
    rng = random.Random(BIG_SEED)
    pool = _text_pool(rng)
    plan = _file_plan(rng)
    layout = out / "oci"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    partial = blobs / "layer.partial"
    dirs_done: set[str] = set()
    with partial.open("wb") as fh:
        sink = _LayerSink(fh)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for path, kind, size in plan:
                parts = path.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    name = "/".join(parts[:depth])
                    if name not in dirs_done:
                        dirs_done.add(name)
                        tar.addfile(kit.directory(name).tarinfo())
                entry = kit.file(path, _content(rng, pool, kind, size),
                                 mode=0o755 if kind == "binary" else 0o644)
                tar.addfile(entry.tarinfo(), _BytesReader(entry.data))
        sink.close()
    layer_digest = "sha256:" + sink.blob.hexdigest()
    partial.rename(blobs / sink.blob.hexdigest())
    diff_id = "sha256:" + sink.diff.hexdigest()
    created = "2023-11-14T22:13:20Z"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "COPY big /opt/big # bench"}],
    }

    def put(data: bytes) -> dict[str, Any]:
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
        return {"digest": kit.sha(data), "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **put(kit.canonical(config))},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": sink.compressed}],
    }
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            **put(kit.canonical(manifest)),
            "annotations": {"org.opencontainers.image.ref.name": BIG_REF}}
    (layout / "oci-layout").write_bytes(kit.canonical({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_bytes(kit.canonical({"schemaVersion": 2, "manifests": [desc]}))
    (out / "meta.json").write_text(json.dumps(
        {"ref": BIG_REF, "files": len(plan), "uncompressed": sink.size,
         "compressed": sink.compressed}, indent=2) + "\n")


class _BytesReader:
    """Minimal file object for tarfile.addfile without copying ``data`` into a BytesIO."""

    def __init__(self, data: bytes) -> None:
        self.view = memoryview(data)
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.view) if n < 0 else min(len(self.view), self.pos + n)
        chunk = self.view[self.pos : end].tobytes()
        self.pos = end
        return chunk


def big_image_key() -> str:
    parts = [inspect.getsource(obj) for obj in
             (_text_pool, _content, _file_plan, _LayerSink, build_big_image, _BytesReader)]
    parts.append(repr((BIG_TOTAL, BIG_LARGEST, BIG_SEED, BIG_REF)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def big_image(cache_root: Path) -> tuple[Path, str]:
    final = cached_build(cache_root / f"biglayer-{big_image_key()}", build_big_image)
    for stale in cache_root.glob("biglayer-*"):  # older generator versions: ~200 MB each
        if stale.name.startswith(final.name):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return final / "oci", BIG_REF


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Blob:
    path: Path
    digest: str
    media_type: str
    size: int

    @property
    def compression(self) -> str:
        with self.path.open("rb") as fh:
            magic = fh.read(4)
        if magic[:2] == b"\x1f\x8b":
            return "gzip"
        if magic == b"\x28\xb5\x2f\xfd":
            return "zstd"
        return "none"


@dataclass
class Row:
    image: str
    source: str
    layers: int = 0
    compressed_mb: float = 0.0
    uncompressed_mb: float = 0.0
    floor_s: float | None = None
    scan_s: float | None = None
    ratio: float | None = None
    peak_rss_mb: float | None = None
    floor_runs: list[float] = field(default_factory=list)
    scan_runs: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def layer_blobs(layout: Path, ref: str) -> list[Blob]:
    index = json.loads((layout / "index.json").read_bytes())
    [desc] = [d for d in index["manifests"]
              if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
    manifest = json.loads((layout / "blobs" / desc["digest"].replace(":", "/")).read_bytes())
    return [
        Blob(layout / "blobs" / d["digest"].replace(":", "/"), d["digest"],
             d.get("mediaType", ""), int(d["size"]))
        for d in manifest["layers"]
    ]


def uncompressed_size(blob: Blob, memo: dict[str, int]) -> int:
    if blob.digest in memo:
        return memo[blob.digest]
    kind = blob.compression
    total = 0
    if kind == "none":
        total = blob.size
    else:
        with blob.path.open("rb") as raw:
            stream: Any
            if kind == "gzip":
                stream = gzip.GzipFile(fileobj=raw)
            else:
                import zstandard

                stream = zstandard.ZstdDecompressor().stream_reader(raw)
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                total += len(chunk)
    memo[blob.digest] = total
    return total


def decompress_argv(blob: Blob) -> list[str]:
    tool = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"], "none": ["cat"]}[blob.compression]
    return [*tool, str(blob.path)]


def measure_floor(blobs: list[Blob], runs: int) -> list[float]:
    results = []
    for _ in range(runs):
        total = 0.0
        for blob in blobs:
            start = time.perf_counter()
            subprocess.run(decompress_argv(blob), stdout=subprocess.DEVNULL, check=True)
            total += time.perf_counter() - start
        results.append(total)
    return results


def scan_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(REPO / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def portcullis_missing(env: dict[str, str]) -> str | None:
    """None if ``python -m portcullis`` can run, else why not."""
    probe = ("import importlib.util, sys; "
             "sys.exit(0 if importlib.util.find_spec('portcullis.__main__') else 3)")
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode == 0:
        return None
    if proc.returncode == 3:
        return "`python -m portcullis` is not importable yet (no portcullis/__main__.py)"
    return "importing portcullis failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]


SCAN_OPTIONS = ["--scanners", "none", "--format", "json", "--quiet", "--output", "/dev/null",
                "--no-cache"]
OPTIONAL_FLAGS = ("--no-cache", "--quiet")
"""Dropped (with a note) when ``portcullis scan --help`` does not list them; they don't change
the work done. Anything else unsupported makes the scan fail loudly instead."""


def scan_options(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """(options to pass, notes): SCAN_OPTIONS minus optional flags this CLI doesn't know."""
    proc = subprocess.run([sys.executable, "-m", "portcullis", "scan", "--help"], env=env,
                          capture_output=True, text=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        return list(SCAN_OPTIONS), []
    known = proc.stdout
    options, notes = [], []
    for opt in SCAN_OPTIONS:
        if opt in OPTIONAL_FLAGS and opt not in known:
            notes.append(f"`portcullis scan` has no {opt} option yet; ran without it")
        else:
            options.append(opt)
    return options, notes


def run_scan_once(
    source: str, options: list[str], env: dict[str, str]
) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit code, stderr tail) of one scan in a fresh child."""
    argv = [sys.executable, "-m", "portcullis", "scan", source, *options]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = "\n".join(err.read().decode(errors="replace").strip().splitlines()[-15:])
    rss_mb = usage.ru_maxrss * 1024 / MB  # ru_maxrss is KiB on Linux
    return elapsed, rss_mb, proc.returncode, tail


def bench_image(row: Row, layout: Path, ref: str, runs: int, memo: dict[str, int],
                missing: str | None, env: dict[str, str], options: list[str]) -> None:
    blobs = layer_blobs(layout, ref)
    row.layers = len(blobs)
    row.compressed_mb = round(sum(b.size for b in blobs) / MB, 1)
    row.uncompressed_mb = round(sum(uncompressed_size(b, memo) for b in blobs) / MB, 1)
    row.floor_runs = [round(t, 3) for t in measure_floor(blobs, runs)]
    row.floor_s = min(row.floor_runs)
    if missing:
        row.notes.append(f"scan skipped: {missing}")
        return
    rss: list[float] = []
    for _ in range(runs):
        elapsed, peak, code, tail = run_scan_once(row.source, options, env)
        if code != 0:
            row.notes.append(f"scan failed (exit {code}):\n{tail}")
            return
        row.scan_runs.append(round(elapsed, 3))
        rss.append(peak)
    row.scan_s = min(row.scan_runs)
    row.peak_rss_mb = round(max(rss), 1)
    row.ratio = round(row.scan_s / row.floor_s, 2) if row.floor_s else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    header = ["image", "layers", "compressed MB", "uncompressed MB", "floor s", "scan s",
              f"scan/floor (<= {TARGET_RATIO})", f"peak RSS MB (< {TARGET_RSS_MB:.0f})"]
    body = []
    for r in rows:
        ratio = _fmt(r.ratio)
        if r.ratio is not None:
            ratio += " ok" if r.ratio <= TARGET_RATIO else " OVER"
        rss = _fmt(r.peak_rss_mb, 1)
        if r.peak_rss_mb is not None:
            rss += " ok" if r.peak_rss_mb < TARGET_RSS_MB else " OVER"
        body.append([r.image, str(r.layers), _fmt(r.compressed_mb, 1), _fmt(r.uncompressed_mb, 1),
                     _fmt(r.floor_s), _fmt(r.scan_s), ratio, rss])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    for r in rows:
        for note in r.notes:
            print(f"\n[{r.image}] {note}")


def _guard(row: Row, step: Callable[[], None]) -> None:
    try:
        step()
    except Exception as exc:
        row.notes.append(f"error: {exc}")
        traceback.print_exc(file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", choices=["debian", "big", "both"], default="both")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache root (default: $PORTCULLIS_TEST_CACHE or "
                             "~/.cache/portcullis-tests)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (best/max of N)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default {OUT})")
    args = parser.parse_args(argv)
    cache_root: Path = (args.cache or default_cache_root()).expanduser().resolve()
    runs = max(1, args.runs)

    env = scan_env()
    missing = portcullis_missing(env)
    options: list[str] = []
    option_notes: list[str] = []
    if missing:
        print(f"note: {missing}; reporting the floor only.", file=sys.stderr)
    else:
        options, option_notes = scan_options(env)
        for note in option_notes:
            print(f"note: {note}", file=sys.stderr)
    memo_path = cache_root / "bench-uncompressed-sizes.json"
    memo: dict[str, int] = {}
    if memo_path.is_file():
        memo = json.loads(memo_path.read_text())

    rows: list[Row] = []
    names = ["debian", "big"] if args.image == "both" else [args.image]
    for name in names:
        row = Row(image=name, source="")
        rows.append(row)

        def step(row: Row = row, name: str = name) -> None:
            started = time.monotonic()
            if name == "debian":
                print("preparing the Debian image (first build takes 1-3 minutes) ...",
                      file=sys.stderr)
                img = debian_image(cache_root)
                layout, ref = img.oci_dir, img.ref
            else:
                print("preparing the ~500 MB single-layer image (first build takes ~1 minute) "
                      "...", file=sys.stderr)
                layout, ref = big_image(cache_root)
            print(f"  ready in {time.monotonic() - started:.1f}s: {layout}:{ref}", file=sys.stderr)
            row.source = f"oci:{layout}:{ref}"
            bench_image(row, layout, ref, runs, memo, missing, env, options)

        _guard(row, step)

    print_table(rows)
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo, indent=2) + "\n")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"python": platform.python_version(), "machine": platform.machine(),
                     "cpus": os.cpu_count()},
            "runs": runs,
            "units": {"MB": "10**6 bytes", "s": "wall seconds"},
            "targets": {"ratio_max": TARGET_RATIO, "peak_rss_mb_max": TARGET_RSS_MB},
            "scan_command": " ".join(
                ["python -m portcullis scan oci:DIR:REF", *(options or SCAN_OPTIONS)]
            ),
            "scan_skipped": missing,
            "scan_notes": option_notes,
            "rows": [asdict(r) for r in rows],
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
