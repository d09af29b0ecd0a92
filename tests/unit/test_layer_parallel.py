"""Layers analysed in worker processes give what the sequential engine gives: the same
results, captures, hard links into lower layers, failures and errors. Real images from the
kit, the real engine and real worker processes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

import pytest

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    FileScan,
)
from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.analyze.parallel import available_cpus, default_workers
from portcullis.cache import LayerCacheDir
from portcullis.errors import DigestMismatchError
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding, Severity
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit


class _Scan:
    def __init__(self, meta: FileMeta, layer: int) -> None:
        self.meta = meta
        self.layer = layer
        self.hasher = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)

    def finish(self) -> AnalysisResult:
        if self.meta.path.endswith("/bad"):
            raise ValueError("cannot read this one")
        return AnalysisResult(findings=[Finding(
            kind="secret", id="content", severity=Severity.LOW, title="seen",
            path=self.meta.path, layer=self.layer, extra={"sha256": self.hasher.hexdigest()})])


class Hasher:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-par-hasher", version=1, scanners=frozenset({"secret"}), paths=("/data/*",))

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        return _Scan(meta, layer)


class Keep:
    """A tree analyzer that captures /keep/* and reports what it got."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-par-keep", version=1, scanners=frozenset({"files"}), paths=("/keep/*",),
        stage=STAGE_INVENTORY)

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        found = []
        for entry in fs.walk():
            if entry.path.startswith("/keep/") and entry.meta.is_file:
                data = fs.read(entry.path) or b""
                found.append(Finding(kind="misconfig", id="kept", severity=Severity.LOW,
                                     title="kept", path=entry.path, layer=entry.layer,
                                     extra={"sha256": hashlib.sha256(data).hexdigest()}))
        return AnalysisResult(findings=found)


def _layers() -> list[kit.Layer]:
    return [
        kit.Layer([kit.directory("data"), kit.directory("keep"),
                   kit.file("data/base", "base\n"), kit.file("keep/conf", "kept v1\n")]),
        kit.Layer([kit.file("data/app", b"app" * 100_000), kit.file("data/bad", "x"),
                   kit.hardlink("data/again", "keep/conf")], compression="zstd"),
        kit.Layer([kit.file("keep/conf", "kept v2\n"), kit.whiteout("data/base"),
                   kit.hardlink("data/base-link", "data/app")]),
    ]


def _run(ref: str, tmp: Path, workers: int, cache: LayerCacheDir | None = None,
         ) -> EngineResult:
    with open_image(ref, SourceOptions()) as image:
        return run(image, [Hasher(), Keep()],
                   EngineOptions(temp_dir=str(tmp), workers=workers, cache=cache))


def _outcome(engine: EngineResult) -> object:
    return (
        sorted((f.id, f.path, f.layer, f.visible, tuple(sorted(f.extra.items())))
               for f in engine.result.findings),
        sorted((w.message, w.path, w.layer, w.analyzer) for w in engine.result.warnings),
        {name: (s.status, s.message) for name, s in engine.statuses.items()},
        sorted((e.path, e.layer) for e in engine.view.walk()),
    )


def test_workers_give_what_the_sequential_engine_gives(tmp_path: Path) -> None:
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=_layers()), ref="t")
    ref = f"oci:{root}:t"
    sequential = _run(ref, tmp_path, workers=1)
    parallel = _run(ref, tmp_path, workers=3)
    assert _outcome(parallel) == _outcome(sequential)
    findings = {(f.id, f.path): f for f in parallel.result.findings}
    # A hard link into a lower layer's captured file was replayed in the parent.
    assert findings[("content", "/data/again")].extra["sha256"] == \
        hashlib.sha256(b"kept v1\n").hexdigest()
    assert findings[("kept", "/keep/conf")].extra["sha256"] == \
        hashlib.sha256(b"kept v2\n").hexdigest()
    assert parallel.statuses["secret"].status == "failed"
    assert "/data/bad (layer 1)" in (parallel.statuses["secret"].message or "")


def test_workers_fill_the_cache_a_sequential_rescan_reads(tmp_path: Path) -> None:
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=_layers()), ref="t")
    ref = f"oci:{root}:t"
    cold = _run(ref, tmp_path, workers=2, cache=LayerCacheDir(tmp_path / "cache"))
    warm = _run(ref, tmp_path, workers=1, cache=LayerCacheDir(tmp_path / "cache"))
    # Layer 1 had a failing file: it is never cached. The others are.
    assert warm.from_cache == [0, 2]
    assert _outcome(warm) == _outcome(cold)


def test_an_error_in_a_worker_is_raised_as_itself(tmp_path: Path) -> None:
    """A legacy ``docker save`` archive whose layer 1 is not the tar its config's diff_id
    names: only the worker, which inflates it, can tell."""
    spec = kit.ImageSpec(layers=[kit.Layer(layer.entries, compression="none")
                                 for layer in _layers()])
    files, links = kit.docker_archive_files(spec, style="legacy")
    layers = json.loads(files["manifest.json"])[0]["Layers"]
    files[layers[1]] = kit.Layer([kit.file("data/app", "other")], compression="none").blob()
    archive = kit.write_tar(tmp_path / "forged.tar", files, links)
    with pytest.raises(DigestMismatchError, match="diff_id mismatch"):
        _run(f"docker-archive:{archive}", tmp_path, workers=2)


def test_available_cpus_follows_the_cgroup_quota(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")
    assert available_cpus(cpu_max) == min(2, available_cpus(tmp_path / "absent"))
    cpu_max.write_text("max 100000\n")
    assert available_cpus(cpu_max) == available_cpus(tmp_path / "absent") >= 1


def test_default_workers_are_half_the_cpus_and_at_least_one(tmp_path: Path) -> None:
    # A layer read in one process keeps two CPUs busy (read-ahead and inflate threads).
    cpu_max = tmp_path / "cpu.max"
    for quota, workers in (("100000", 1), ("150000", 1), ("300000", 1), ("400000", 2),
                           ("800000", 4)):
        cpu_max.write_text(f"{quota} 100000\n")
        assert default_workers(cpu_max) == max(1, available_cpus(cpu_max) // 2)
        if available_cpus(tmp_path / "absent") >= int(quota) // 100000:
            assert default_workers(cpu_max) == workers


class Seen:
    """Records the files it is fed in this process: a layer read by a worker leaves no trace
    here, which tells where each layer was read."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-par-seen", version=1, scanners=frozenset({"secret"}), paths=("/data/*",))
    seen: ClassVar[list[str]] = []

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        Seen.seen.append(meta.path)
        return None


def test_one_layer_to_read_is_read_here_and_several_go_to_workers(tmp_path: Path) -> None:
    layers = _layers()
    root = kit.write_oci_layout(tmp_path / "v1", kit.ImageSpec(layers=layers), ref="t")
    cache = tmp_path / "cache"

    def scan(ref: str) -> EngineResult:
        with open_image(ref, SourceOptions()) as image:
            return run(image, [Seen()], EngineOptions(temp_dir=str(tmp_path), workers=2,
                                                      cache=LayerCacheDir(cache)))

    Seen.seen.clear()
    scan(f"oci:{root}:t")
    assert Seen.seen == []  # three layers to read: all in workers
    layers[2] = kit.Layer([kit.file("data/top", "new top\n")])
    changed = kit.write_oci_layout(tmp_path / "v2", kit.ImageSpec(layers=layers), ref="t")
    engine = scan(f"oci:{changed}:t")
    assert engine.from_cache == [0, 1]
    assert Seen.seen == ["/data/top"]  # the one layer to read: here
