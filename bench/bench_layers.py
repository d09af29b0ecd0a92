"""Layer benchmark: how far is ``portcullis scan`` from the least work any scanner must do?

Usage: ``python bench/bench_layers.py [--image debian,many,big] [--runs N] [--src DIR]``

For each image, medians of N runs (default 3), side by side:

1. floor: isal inflate of every layer blob plus sha256 of the compressed blob and of the
   inflated tar (what any scanner must do to read verified layers), in this process;
2. ``portcullis scan --scanners none`` (read, verify and index the layers) and
3. ``portcullis scan --scanners packages,files,base-image`` (every analyzer on),

each in a fresh child process, with its ratio to the floor, its peak RSS (the child's own
rusage) and its tar entries per second. Images: the real Debian test image of
tests/images/debian.py; ``many-N``: generated, one layer of N small files (npm packages and a
lock file among them) and three layers that delete (whiteouts), make a directory opaque and
rewrite earlier files; ``big``: one ~500 MB layer. Generated images are cached under
$PORTCULLIS_TEST_CACHE or ~/.cache/portcullis-tests. Results also go to bench/out/layers.json.
MB = 10**6 bytes. Always exits 0: benchmarks report, they don't assert.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import isal.igzip

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.images import kit  # noqa: E402
from tests.images.debian import cached_build, debian_image, default_cache_root  # noqa: E402

OUT = REPO / "bench" / "out" / "layers.json"
MB = 1_000_000
CHUNK = 1 << 20
TARGET_RATIOS = {"none": 1.6, "full": 2.0}  # wall vs the floor (issue 7)
TARGET_RSS_MB = 150.0
MODES = {
    "none": ["--scanners", "none"],
    "full": ["--scanners", "packages,files,base-image"],
}
COMMON_OPTIONS = ["--format", "json", "--quiet", "--output", "/dev/null"]
CREATED = "2023-11-14T22:13:20Z"

# --------------------------------------------------------------------------------------------
# Writing generated images: gzip layers streamed to disk, then an OCI layout


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


@dataclass
class WrittenLayer:
    digest: str
    diff_id: str
    size: int
    tar_bytes: int
    entries: int
    created_by: str


def with_parents(entries: Iterable[kit.Entry]) -> Iterator[kit.Entry]:
    """``entries`` with a directory entry before the first entry under each new directory."""
    done: set[str] = set()
    for entry in entries:
        parts = entry.name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            name = "/".join(parts[:depth])
            if name not in done:
                done.add(name)
                yield kit.directory(name)
        if entry.kind == "dir":
            done.add(entry.name)
        yield entry


def write_layer(blobs: Path, entries: Iterable[kit.Entry], created_by: str) -> WrittenLayer:
    partial = blobs / "layer.partial"
    count = 0
    with partial.open("wb") as fh:
        sink = _LayerSink(fh)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for entry in entries:
                tar.addfile(entry.tarinfo(),
                            _BytesReader(entry.data) if entry.kind == "file" else None)
                count += 1
        sink.close()
    partial.rename(blobs / sink.blob.hexdigest())
    return WrittenLayer("sha256:" + sink.blob.hexdigest(), "sha256:" + sink.diff.hexdigest(),
                        sink.compressed, sink.size, count, created_by)


def write_layout(layout: Path, layers: list[WrittenLayer], ref: str) -> None:
    blobs = layout / "blobs" / "sha256"
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": CREATED, "created_by": layer.created_by} for layer in layers],
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
                    "digest": layer.digest, "size": layer.size} for layer in layers],
    }
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            **put(kit.canonical(manifest)),
            "annotations": {"org.opencontainers.image.ref.name": ref}}
    (layout / "oci-layout").write_bytes(kit.canonical({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_bytes(kit.canonical({"schemaVersion": 2, "manifests": [desc]}))


def new_layout(out: Path) -> tuple[Path, Path]:
    layout = out / "oci"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    return layout, blobs


def cached_image(cache_root: Path, prefix: str, key: str,
                 build: Callable[[Path], None]) -> Path:
    """``build`` into the cache once; drop what older generator versions left there."""
    final = cached_build(cache_root / f"{prefix}-{key}", build)
    for stale in cache_root.glob(f"{prefix}-*"):
        if stale.name.startswith(final.name):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return final


def source_key(*objects: Any) -> str:
    parts = [inspect.getsource(obj) if callable(obj) else repr(obj) for obj in objects]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# The many-files image: N small files, then deletions, an opaque dir and rewrites

MANY_REF = "latest"
NPM_EVERY = 25  # one npm package.json per 25 files: 2,000 packages at 50k files
PER_DIR = 200
UPGRADE_EVERY = 10  # every 10th npm package is upgraded in the last layer
OS_RELEASE = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
              'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n')


def _data_file(i: int, data: int, layer: int = 0) -> kit.Entry:
    """File i of ``data``: /srv/data/q<quarter>/d<dir>/f<i>.txt, a few dozen bytes."""
    quarter = 4 * i // data
    return kit.file(f"srv/data/q{quarter}/d{i // PER_DIR:05d}/f{i:06d}.txt",
                    f"file {i} written by layer {layer}\n" * (1 + i % 4))


def _npm_package(j: int, version: str) -> kit.Entry:
    doc = {"name": f"pkg{j:05d}", "version": version, "license": "MIT",
           "description": "generated for the layer benchmark"}
    return kit.file(f"app/node_modules/pkg{j:05d}/package.json", json.dumps(doc, indent=2))


def _npm_version(j: int, upgraded: bool) -> str:
    return "1.0.1" if upgraded and j % UPGRADE_EVERY == 0 else "1.0.0"


def _lock_file(npm: int, upgraded: bool) -> kit.Entry:
    packages: dict[str, Any] = {"": {"name": "app", "version": "1.0.0"}}
    for j in range(npm):
        packages[f"node_modules/pkg{j:05d}"] = {"version": _npm_version(j, upgraded),
                                                "license": "MIT"}
    doc = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "packages": packages}
    return kit.file("app/package-lock.json", json.dumps(doc, indent=2))


def _many_layers(files: int) -> list[tuple[str, Iterable[kit.Entry]]]:
    npm = files // NPM_EVERY
    data = files - npm
    quarter = data // 4
    base = itertools.chain(
        [kit.file("etc/os-release", OS_RELEASE),
         kit.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
         kit.file("etc/group", "root:x:0:\napp:x:1000:\n"),
         kit.file("app/package.json", '{"name": "app", "version": "1.0.0"}\n'),
         _lock_file(npm, upgraded=False)],
        (_npm_package(j, "1.0.0") for j in range(npm)),
        (_data_file(i, data) for i in range(data)),
    )
    deletions = itertools.chain(
        [kit.whiteout("srv/data/q0")],
        (kit.whiteout(_data_file(i, data).name) for i in range(quarter, 2 * quarter, 2)),
    )
    opaque = with_parents(itertools.chain(
        [kit.directory("srv/data/q2"), kit.opaque("srv/data/q2")],
        (kit.file(f"srv/data/q2/new/f{i:03d}.txt", f"new {i}\n") for i in range(100)),
    ))
    rewrites = itertools.chain(
        [_lock_file(npm, upgraded=True)],
        (_npm_package(j, "1.0.1") for j in range(0, npm, UPGRADE_EVERY)),
        (_data_file(i, data, layer=3) for i in range(3 * data // 4, data)),
    )
    return [
        (f"COPY tree / # {files} files", with_parents(base)),
        ("RUN rm -rf /srv/data/q0 && rm half of /srv/data/q1", deletions),
        ("RUN rebuild /srv/data/q2 (opaque)", opaque),
        ("RUN rewrite /srv/data/q3 && npm update", with_parents(rewrites)),
    ]


def build_many_image(files: int) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        layout, blobs = new_layout(out)
        layers = [write_layer(blobs, entries, created_by)
                  for created_by, entries in _many_layers(files)]
        write_layout(layout, layers, MANY_REF)
        (out / "meta.json").write_text(json.dumps(
            {"ref": MANY_REF, "files": files, "layers": [asdict(x) for x in layers]},
            indent=2) + "\n")
    return build


def many_image(cache_root: Path, files: int) -> tuple[Path, str]:
    key = source_key(_LayerSink, _BytesReader, with_parents, write_layer, write_layout,
                     _data_file, _npm_package, _npm_version, _lock_file, _many_layers,
                     build_many_image, (NPM_EVERY, PER_DIR, UPGRADE_EVERY, OS_RELEASE, CREATED))
    final = cached_image(cache_root, f"many{files}", key, build_many_image(files))
    return final / "oci", MANY_REF


# --------------------------------------------------------------------------------------------
# The big image: one ~500 MB gzip layer


BIG_TOTAL = 500 * MB
BIG_LARGEST = 50 * MB
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


BIG_REF = "latest"


def build_big_image(out: Path) -> None:
    rng = random.Random(BIG_SEED)
    pool = _text_pool(rng)
    plan = _file_plan(rng)
    layout, blobs = new_layout(out)
    files = (kit.file(path, _content(rng, pool, kind, size),
                      mode=0o755 if kind == "binary" else 0o644)
             for path, kind, size in plan)
    layer = write_layer(blobs, with_parents(files), "COPY big /opt/big # bench")
    write_layout(layout, [layer], BIG_REF)
    (out / "meta.json").write_text(json.dumps(
        {"ref": BIG_REF, "files": len(plan), "layers": [asdict(layer)]}, indent=2) + "\n")


def big_image(cache_root: Path) -> tuple[Path, str]:
    key = source_key(_text_pool, _content, _file_plan, _LayerSink, _BytesReader, with_parents,
                     write_layer, write_layout, build_big_image,
                     (BIG_TOTAL, BIG_LARGEST, BIG_SEED, BIG_REF, CREATED))
    return cached_image(cache_root, "biglayer", key, build_big_image) / "oci", BIG_REF


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Blob:
    path: Path
    digest: str
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


def layer_blobs(layout: Path, ref: str) -> list[Blob]:
    index = json.loads((layout / "index.json").read_bytes())
    [desc] = [d for d in index["manifests"]
              if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
    manifest = json.loads((layout / "blobs" / desc["digest"].replace(":", "/")).read_bytes())
    return [Blob(layout / "blobs" / d["digest"].replace(":", "/"), d["digest"], int(d["size"]))
            for d in manifest["layers"]]


def inflated(fh: BinaryIO, kind: str) -> Any:
    """The tar inside a blob, decompressed the way the scanner does (isal / zstandard)."""
    if kind == "gzip":
        return isal.igzip.IGzipFile(fileobj=fh, mode="rb")
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    return fh


def floor_once(blobs: list[Blob]) -> tuple[float, float]:
    """(wall, CPU) seconds to sha256 every blob and isal-inflate + sha256 its tar: the least
    any scanner that verifies digests must do."""
    wall, cpu = time.perf_counter(), time.process_time()
    for blob in blobs:
        kind = blob.compression
        with blob.path.open("rb") as fh:
            hashlib.file_digest(fh, "sha256")
        with blob.path.open("rb") as fh:
            stream = inflated(fh, kind)
            digest = hashlib.sha256()
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
    return time.perf_counter() - wall, time.process_time() - cpu


def layer_facts(blob: Blob, memo: dict[str, dict[str, int]]) -> dict[str, int]:
    """Tar bytes and tar entries of a layer (read once, remembered by blob digest)."""
    if blob.digest not in memo:
        size = 0
        with blob.path.open("rb") as fh:
            stream = inflated(fh, blob.compression)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
        with blob.path.open("rb") as fh, \
                tarfile.open(fileobj=inflated(fh, blob.compression), mode="r|") as tar:
            entries = sum(1 for _ in tar)
        memo[blob.digest] = {"tar_bytes": size, "entries": entries}
    return memo[blob.digest]


@dataclass
class Mode:
    """The floor or one way of running the scan: medians over the runs; RSS the highest."""

    wall_s: float | None = None
    cpu_s: float | None = None
    wall_ratio: float | None = None
    cpu_ratio: float | None = None
    peak_rss_mb: float | None = None
    entries_per_cpu_s: float | None = None
    wall_runs: list[float] = field(default_factory=list)
    cpu_runs: list[float] = field(default_factory=list)
    rss_runs: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, rss: float | None = None) -> None:
        self.wall_runs.append(round(wall, 3))
        self.cpu_runs.append(round(cpu, 3))
        if rss is not None:
            self.rss_runs.append(round(rss, 1))

    def summarize(self, floor: Mode, entries: int) -> None:
        self.wall_s = statistics.median(self.wall_runs)
        self.cpu_s = statistics.median(self.cpu_runs)
        self.peak_rss_mb = max(self.rss_runs) if self.rss_runs else None
        if floor.wall_s and floor.cpu_s:
            self.wall_ratio = round(self.wall_s / floor.wall_s, 2)
            self.cpu_ratio = round(self.cpu_s / floor.cpu_s, 2)
        self.entries_per_cpu_s = round(entries / self.cpu_s) if self.cpu_s else None


@dataclass
class Row:
    image: str
    source: str = ""
    layers: int = 0
    entries: int = 0
    compressed_mb: float = 0.0
    tar_mb: float = 0.0
    modes: dict[str, Mode] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def scan_env(src: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def code_version(src: Path) -> str:
    """The commit of the scanned code, "+dirty" when its checkout has changes."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(src), *args], capture_output=True, text=True,
                              check=False)
        return proc.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", ".") else "")


def cache_options(src: Path) -> list[str]:
    """``--no-cache`` for sources that have a layer cache: every run here is a cold read
    (bench/bench_cache.py measures warm and changed-layer rescans)."""
    main = src / "portcullis" / "cli" / "main.py"
    return ["--no-cache"] if main.is_file() and "--no-cache" in main.read_text() else []


def run_scan_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, peak RSS MB, exit code, stderr tail) of one scan in a fresh child,
    CPU and RSS from the child's own rusage."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = "\n".join(err.read().decode(errors="replace").strip().splitlines()[-15:])
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss * 1024 / MB, proc.returncode, tail  # maxrss: KiB


def bench_image(row: Row, layout: Path, ref: str, runs: int, memo: dict[str, dict[str, int]],
                env: dict[str, str], extra: list[str]) -> None:
    blobs = layer_blobs(layout, ref)
    row.source = f"oci:{layout}:{ref}"
    row.layers = len(blobs)
    row.compressed_mb = round(sum(b.size for b in blobs) / MB, 1)
    facts = [layer_facts(b, memo) for b in blobs]
    row.tar_mb = round(sum(f["tar_bytes"] for f in facts) / MB, 1)
    row.entries = sum(f["entries"] for f in facts)
    row.modes = {"floor": Mode(), **{name: Mode() for name in MODES}}
    # Interleaved, so that a burst of load on a shared machine hits every column alike.
    for _ in range(runs):
        row.modes["floor"].add(*floor_once(blobs))
        for name, options in MODES.items():
            argv = [sys.executable, "-m", "portcullis", "scan", row.source, *options,
                    *COMMON_OPTIONS, *cache_options(Path(env["PYTHONPATH"].split(os.pathsep)[0])),
                    *extra]
            wall, cpu, rss, code, tail = run_scan_once(argv, env)
            if code != 0:
                row.notes.append(f"scan {name} failed (exit {code}):\n{tail}")
                return
            row.modes[name].add(wall, cpu, rss)
    floor = row.modes["floor"]
    floor.summarize(floor, row.entries)
    for name in MODES:
        row.modes[name].summarize(floor, row.entries)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    header = ["image", "layers", "entries", "gz MB", "tar MB", "run", "wall s", "x floor",
              "cpu s", "x floor", "peak RSS MB", "entries/cpu s"]
    body = []
    for r in rows:
        for name, m in r.modes.items():
            ratio = _fmt(m.wall_ratio)
            target = TARGET_RATIOS.get(name)
            if target is not None and m.wall_ratio is not None:
                ratio += " ok" if m.wall_ratio <= target else " OVER"
            rss = _fmt(m.peak_rss_mb, 1)
            if m.peak_rss_mb is not None:
                rss += " ok" if m.peak_rss_mb < TARGET_RSS_MB else " OVER"
            first = name == "floor"
            body.append([
                r.image if first else "", str(r.layers) if first else "",
                str(r.entries) if first else "", _fmt(r.compressed_mb, 1) if first else "",
                _fmt(r.tar_mb, 1) if first else "", name, _fmt(m.wall_s), ratio,
                _fmt(m.cpu_s), _fmt(m.cpu_ratio), rss, _fmt(m.entries_per_cpu_s, 0),
            ])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    print(f"targets: none wall <= {TARGET_RATIOS['none']} x floor, full <= "
          f"{TARGET_RATIOS['full']} x; peak RSS < {TARGET_RSS_MB:.0f} MB")
    for r in rows:
        for note in r.notes:
            print(f"\n[{r.image}] {note}")


def _guard(row: Row, step: Callable[[], None]) -> None:
    try:
        step()
    except Exception as exc:
        row.notes.append(f"error: {exc}")
        traceback.print_exc(file=sys.stderr)


def prepare(name: str, cache_root: Path) -> tuple[Path, str]:
    started = time.monotonic()
    print(f"preparing {name} (a first build takes 1-3 minutes) ...", file=sys.stderr)
    if name == "debian":
        img = debian_image(cache_root)
        layout, ref = img.oci_dir, img.ref
    elif name == "big":
        layout, ref = big_image(cache_root)
    else:
        layout, ref = many_image(cache_root, int(name.removeprefix("many-")))
    print(f"  ready in {time.monotonic() - started:.1f}s: {layout}:{ref}", file=sys.stderr)
    return layout, ref


def image_names(images: str, sizes: str) -> list[str]:
    names: list[str] = []
    for image in images.split(","):
        if image == "many":
            names += [f"many-{int(n)}" for n in sizes.split(",")]
        elif image in ("debian", "big"):
            names.append(image)
        else:
            raise SystemExit(f"unknown image {image!r}: use debian, many or big")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", default="debian,many",
                        help="comma list of debian, many, big (default debian,many)")
    parser.add_argument("--sizes", default="50000,100000,200000",
                        help="files in the first layer of the many-files images")
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache root (default: $PORTCULLIS_TEST_CACHE or "
                             "~/.cache/portcullis-tests)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median of N)")
    parser.add_argument("--src", type=Path, default=REPO / "src",
                        help="the portcullis sources to scan with (default: this checkout's "
                             "src), e.g. another worktree's, for before/after numbers")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default {OUT})")
    parser.add_argument("--parallel", type=int, default=None, metavar="N",
                        help="pass --parallel N to every scan (default: the scanner's own "
                             "default, one worker per CPU)")
    args = parser.parse_args(argv)
    extra = [] if args.parallel is None else ["--parallel", str(args.parallel)]
    cache_root: Path = (args.cache or default_cache_root()).expanduser().resolve()
    runs = max(1, args.runs)
    names = image_names(args.image, args.sizes)
    src = args.src.resolve()
    # An installed package has .pyc files; this environment may forbid writing them
    # (PYTHONDONTWRITEBYTECODE), and every run would time recompiling each module.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)],
                   env={k: v for k, v in os.environ.items()
                        if k != "PYTHONDONTWRITEBYTECODE"},
                   check=False, stdout=subprocess.DEVNULL)
    env = scan_env(src)
    version = code_version(src)
    print(f"scanning with {src} @ {version}", file=sys.stderr)
    memo_path = cache_root / "bench-layer-facts.json"
    memo: dict[str, dict[str, int]] = {}
    if memo_path.is_file():
        memo = json.loads(memo_path.read_text())

    rows: list[Row] = []
    for name in names:
        row = Row(image=name)
        rows.append(row)

        def step(row: Row = row, name: str = name) -> None:
            layout, ref = prepare(name, cache_root)
            bench_image(row, layout, ref, runs, memo, env, extra)

        _guard(row, step)

    print(f"code: {src} @ {version}; medians of {runs} run(s); RSS: highest of the runs")
    print_table(rows)
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        memo_path.write_text(json.dumps(memo, indent=2) + "\n")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": {"python": platform.python_version(), "machine": platform.machine(),
                     "cpus": os.cpu_count(), "load": os.getloadavg()},
            "code": {"src": str(src), "version": version},
            "runs": runs,
            "units": {"MB": "10**6 bytes", "s": "seconds, median of the runs",
                      "cpu": "user + system time of the child (floor: this process)"},
            "targets": {"none_wall_ratio_max": TARGET_RATIOS["none"],
                        "full_wall_ratio_max": TARGET_RATIOS["full"],
                        "peak_rss_mb_max": TARGET_RSS_MB},
            "scan_commands": {name: " ".join(["python -m portcullis scan oci:DIR:REF", *options,
                                              *COMMON_OPTIONS, *extra])
                              for name, options in MODES.items()},
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
