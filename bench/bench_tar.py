"""Tar-reading micro benchmark: tarfile "r|" vs our TarReader, next to the inflate floor.

Usage: ``python bench/bench_tar.py [--cache DIR] [--runs N] [--files N] [--only debian|small]``

Data sets:

- ``debian``: every layer blob of the cached Debian test image (tests/images/debian.py), found
  under $PORTCULLIS_TEST_CACHE or ~/.cache/portcullis-tests (never built here: run
  ``python -m tests.images.debian`` first);
- ``small``: a generated gzip tar of 200,000 small files (0-300 bytes, a directory every 100
  files, a symlink every 50), cached beside it as ``bench-tar-small-<N>.tar.gz``.

For each it prints best-of-N wall times and entries/s of

1. floor: isal inflate + sha256 of the uncompressed bytes (what any scan must pay);
2. tarfile: ``tarfile.open(fileobj=LayerStream(...), mode="r|")`` iteration (the old index);
3. TarReader over LayerStream.

(An inflate thread inside LayerStream was tried, commit aa25124 on branch h5-tar: slower here,
see the report; it is not in the code.)

The methods run interleaved (one of each per round) so that load from other processes hits
them alike. Times are wall-clock seconds (CPU seconds of the process beside them); MB = 10**6
bytes. Always exits 0.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import isal.igzip
import zstandard

REPO = Path(__file__).resolve().parents[1]
for entry in (REPO, REPO / "src"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from portcullis.layers.stream import LayerStream, sniff  # noqa: E402
from portcullis.layers.tar import TarReader  # noqa: E402

MB = 1_000_000
CHUNK = 1 << 20
LIMIT = 1 << 40


@dataclass
class Layer:
    path: Path
    diff_id: str


def default_cache_root() -> Path:
    env = os.environ.get("PORTCULLIS_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "portcullis-tests"


def debian_layers(root: Path) -> list[Layer] | None:
    """The layer blobs of the newest cached Debian test image, in order."""
    try:
        from tests.images.debian import recipe_key

        preferred = root / f"debian-{recipe_key()}"
    except ImportError:
        preferred = None
    candidates = [preferred] if preferred is not None and preferred.is_dir() else []
    candidates += sorted((p for p in root.glob("debian-*") if p.is_dir()),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    for image in candidates:
        layout = image / "oci"
        try:
            meta = json.loads((image / "meta.json").read_text())
            index = json.loads((layout / "index.json").read_text())
            manifest_digest = index["manifests"][0]["digest"]
            manifest = json.loads(_blob(layout, manifest_digest).read_bytes())
            return [Layer(_blob(layout, d["digest"]), diff_id)
                    for d, diff_id in zip(manifest["layers"], meta["diff_ids"], strict=True)]
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return None


def _blob(layout: Path, digest: str) -> Path:
    algorithm, hex_ = digest.split(":", 1)
    return layout / "blobs" / algorithm / hex_


def small_files_layer(root: Path, files: int) -> Layer:
    path = root / f"bench-tar-small-{files}.tar.gz"
    if not path.exists():
        print(f"generating {files} small files into {path} ...", flush=True)
        rng = random.Random(files)
        words = [bytes(rng.choices(b"abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
                 for _ in range(500)]
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for i in range(files):
                directory = f"usr/share/bench/d{i // 100:05d}"
                if i % 100 == 0:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                if i % 50 == 49:
                    info = tarfile.TarInfo(f"{directory}/link{i}")
                    info.type, info.linkname = tarfile.SYMTYPE, f"f{i - 1}.txt"
                    tar.addfile(info)
                    continue
                data = b" ".join(rng.choices(words, k=rng.randint(0, 50)))[:300]
                info = tarfile.TarInfo(f"{directory}/f{i}.txt")
                info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000 + i
                tar.addfile(info, io.BytesIO(data))
        tar_bytes = out.getvalue()
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(isal.igzip.compress(tar_bytes))
        tmp.rename(path)
        (root / f"bench-tar-small-{files}.diff_id").write_text(
            "sha256:" + hashlib.sha256(tar_bytes).hexdigest())
    diff_id = (root / f"bench-tar-small-{files}.diff_id").read_text().strip()
    return Layer(path, diff_id)


# ---------------------------------------------------------------------------- methods


def floor(layer: Layer) -> int:
    """isal (or zstd) inflate + sha256, nothing else; returns the tar size."""
    with layer.path.open("rb") as raw:
        kind = sniff(raw.read(4))
        raw.seek(0)
        inner: io.BufferedIOBase | zstandard.ZstdDecompressionReader | gzip.GzipFile
        if kind == "gzip":
            inner = isal.igzip.IGzipFile(fileobj=raw, mode="rb")
        elif kind == "zstd":
            inner = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        else:
            inner = raw  # type: ignore[assignment]
        hasher = hashlib.sha256()
        size = 0
        while data := inner.read(CHUNK):
            hasher.update(data)
            size += len(data)
    assert "sha256:" + hasher.hexdigest() == layer.diff_id, layer.path
    return size


def with_tarfile(layer: Layer) -> int:
    with layer.path.open("rb") as raw, LayerStream(raw, diff_id=layer.diff_id, limit=LIMIT,
                                                   what="bench") as stream:
        count = 0
        with tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20) as tar:
            for _ in tar:
                count += 1
        stream.finish()
    return count


def with_reader(layer: Layer) -> int:
    with layer.path.open("rb") as raw, LayerStream(raw, diff_id=layer.diff_id, limit=LIMIT,
                                                   what="bench") as stream:
        reader = TarReader(stream)
        count = sum(1 for _ in reader)
        reader.drain()
        stream.finish()
    return count


FLOOR = "floor: isal inflate + sha256"
METHODS: dict[str, Callable[[Layer], int]] = {
    FLOOR: floor,
    'tarfile "r|"': with_tarfile,
    "TarReader": with_reader,
}


def bench(name: str, layers: list[Layer], runs: int) -> None:
    best = dict.fromkeys(METHODS, float("inf"))
    cpu = dict.fromkeys(METHODS, float("inf"))
    results: dict[str, int] = {}
    for _ in range(runs):
        for method, fn in METHODS.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            results[method] = sum(fn(layer) for layer in layers)
            best[method] = min(best[method], time.perf_counter() - start)
            cpu[method] = min(cpu[method], time.process_time() - start_cpu)
    tar_bytes = results[FLOOR]
    entries = results['tarfile "r|"']
    assert results["TarReader"] == entries, (results, name)
    compressed = sum(layer.path.stat().st_size for layer in layers)
    print(f"\n{name}: {len(layers)} layer(s), {compressed / MB:.1f} MB compressed, "
          f"{tar_bytes / MB:.1f} MB tar, {entries:,} entries; best of {runs}")
    print(f"  {'method':<30} {'seconds':>8} {'entries/s':>11} {'x floor':>8} {'CPU s':>7}")
    for method in METHODS:
        seconds = best[method]
        rate = "" if method == FLOOR else f"{entries / seconds:,.0f}"
        print(f"  {method:<30} {seconds:8.3f} {rate:>11} {seconds / best[FLOOR]:8.2f} "
              f"{cpu[method]:7.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cache", type=Path, default=default_cache_root())
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--only", choices=["debian", "small"])
    args = parser.parse_args(argv)
    root = args.cache.expanduser()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    if args.only in (None, "debian"):
        layers = debian_layers(root)
        if layers is None:
            print(f"\ndebian: no cached Debian test image under {root}; "
                  "run `python -m tests.images.debian` first")
        else:
            bench("debian", layers, args.runs)
    if args.only in (None, "small"):
        bench(f"small ({args.files:,} files)", [small_files_layer(root, args.files)], args.runs)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
