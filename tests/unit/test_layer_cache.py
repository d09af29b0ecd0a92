"""The layer cache: a rescan reads only new layers, entries are trusted only for the bytes that
made them, torn entries are rebuilt, and the size stays bounded. Real images from the kit, the
real engine and the real cache folder."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from portcullis.analyze.base import (
    STAGE_CHECKS,
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    FileScan,
)
from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.cache import LayerCacheDir, decode_entry
from portcullis.errors import DigestMismatchError
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding, Severity
from portcullis.model.package import Package
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit


class _Scan:
    def __init__(self, meta: FileMeta, layer: int, seen: list[str]) -> None:
        self.meta = meta
        self.layer = layer
        self.hasher = hashlib.sha256()
        seen.append(meta.path)

    def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)

    def finish(self) -> AnalysisResult:
        return AnalysisResult(findings=[Finding(
            kind="secret", id="content", severity=Severity.LOW, title="seen",
            path=self.meta.path, layer=self.layer, extra={"sha256": self.hasher.hexdigest()})])


class Reader:
    """A file analyzer that records every file it is fed and reports its sha256."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-reader", version=1, scanners=frozenset({"secret"}), paths=("/data/*",))

    def __init__(self) -> None:
        self.seen: list[str] = []

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        return _Scan(meta, layer, self.seen)


def _layers() -> list[kit.Layer]:
    return [
        kit.Layer([kit.directory("data"), kit.file("data/base", "base layer\n")]),
        kit.Layer([kit.file("data/app", "app v1\n"), kit.whiteout("data/base")]),
        kit.Layer([kit.file("data/top", "top v1\n")], compression="zstd"),
    ]


def _run(reference: str, cache: LayerCacheDir | None, reader: Reader, tmp: Path,
         verify: bool = True) -> EngineResult:
    with open_image(reference, SourceOptions()) as image:
        return run(image, [reader], EngineOptions(temp_dir=str(tmp), cache=cache,
                                                  verify_diff_ids=verify))


def _findings(engine: EngineResult) -> list[tuple[str | None, int | None, bool, object]]:
    return sorted((f.path, f.layer, f.visible, f.extra["sha256"])
                  for f in engine.result.findings)


def _oci(tmp_path: Path, name: str, layers: list[kit.Layer]) -> str:
    root = kit.write_oci_layout(tmp_path / name, kit.ImageSpec(layers=layers), ref="t")
    return f"oci:{root}:t"


def test_a_rescan_reads_no_layer_and_gives_the_same_results(tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", _layers())
    cold_reader, warm_reader = Reader(), Reader()
    cold = _run(ref, LayerCacheDir(tmp_path / "cache"), cold_reader, tmp_path)
    warm = _run(ref, LayerCacheDir(tmp_path / "cache"), warm_reader, tmp_path)
    assert sorted(cold_reader.seen) == ["/data/app", "/data/base", "/data/top"]
    assert warm_reader.seen == []
    assert cold.from_cache == [] and warm.from_cache == [0, 1, 2]
    assert _findings(warm) == _findings(cold)
    assert ("/data/base", 0, False, hashlib.sha256(b"base layer\n").hexdigest()) in _findings(warm)
    assert sorted(e.path for e in warm.view.walk()) == sorted(e.path for e in cold.view.walk())


def test_a_changed_top_layer_is_the_only_one_read(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _run(_oci(tmp_path, "v1", _layers()), LayerCacheDir(cache), Reader(), tmp_path)
    changed = _layers()
    changed[2] = kit.Layer([kit.file("data/top", "top v2\n")], compression="zstd")
    reader = Reader()
    engine = _run(_oci(tmp_path, "v2", changed), LayerCacheDir(cache), reader, tmp_path)
    assert reader.seen == ["/data/top"]
    assert engine.from_cache == [0, 1]
    top = [f for f in engine.result.findings if f.path == "/data/top"]
    assert [f.extra["sha256"] for f in top] == [hashlib.sha256(b"top v2\n").hexdigest()]


def _drop_whole_results(cache: Path) -> None:
    """These tests are about layer entries: the whole-scan entry would answer first."""
    for entry in (cache / "images").iterdir():
        entry.unlink()


def test_a_truncated_entry_is_detected_and_rebuilt(tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", _layers())
    cache = tmp_path / "cache"
    cold = _run(ref, LayerCacheDir(cache), Reader(), tmp_path)
    _drop_whole_results(cache)
    entries = sorted((cache / "layers").iterdir(), key=lambda p: p.stat().st_size)
    torn = entries[-1]
    whole = torn.read_bytes()
    torn.write_bytes(whole[: len(whole) // 2])  # a write cut off half way
    reader = Reader()
    warm = _run(ref, LayerCacheDir(cache), reader, tmp_path)
    assert len(warm.from_cache) == 2 and len(reader.seen) == 1
    assert _findings(warm) == _findings(cold)
    rebuilt = torn.read_bytes()
    assert decode_entry(rebuilt) is not None
    assert decode_entry(whole[: len(whole) // 2]) is None


def test_a_flipped_byte_in_an_entry_is_not_served(tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", _layers())
    cache = tmp_path / "cache"
    _run(ref, LayerCacheDir(cache), Reader(), tmp_path)
    _drop_whole_results(cache)
    for entry in (cache / "layers").iterdir():
        data = bytearray(entry.read_bytes())
        data[-1] ^= 0xFF
        entry.write_bytes(bytes(data))
    reader = Reader()
    engine = _run(ref, LayerCacheDir(cache), reader, tmp_path)
    assert engine.from_cache == [] and len(reader.seen) == 3


def _forged_docker_archive(tmp_path: Path, benign: kit.ImageSpec,
                           malicious: kit.ImageSpec) -> str:
    """A legacy ``docker save`` archive whose config (and so every diff_id it claims) is the
    benign image's, but whose layer tars are the malicious image's."""
    files, links = kit.docker_archive_files(benign, style="legacy")
    evil, _ = kit.docker_archive_files(malicious, style="legacy")
    for path, bad in zip(_manifest_layers(files), _manifest_layers(evil), strict=True):
        files[path] = evil[bad]
    archive = kit.write_tar(tmp_path / "forged.tar", files, links)
    return f"docker-archive:{archive}"


def _manifest_layers(files: dict[str, bytes]) -> list[str]:
    layers: list[str] = json.loads(files["manifest.json"])[0]["Layers"]
    return layers


def test_a_forged_config_naming_cached_layers_is_not_served_from_the_cache(
        tmp_path: Path) -> None:
    benign = kit.ImageSpec(layers=[kit.Layer([kit.file("data/app", "harmless\n")],
                                             compression="none")])
    malicious = kit.ImageSpec(layers=[kit.Layer([kit.file("data/app", "EVIL payload\n")],
                                                compression="none")])
    files, links = kit.docker_archive_files(benign, style="legacy")
    good = f"docker-archive:{kit.write_tar(tmp_path / 'good.tar', files, links)}"
    cache = tmp_path / "cache"
    _run(good, LayerCacheDir(cache), Reader(), tmp_path)
    forged = _forged_docker_archive(tmp_path, benign, malicious)

    # Checking diff_ids: the forged layer is read for real and fails its diff_id.
    checking = Reader()
    with pytest.raises(DigestMismatchError):
        _run(forged, LayerCacheDir(cache), checking, tmp_path)
    assert checking.seen == ["/data/app"]  # it was read, not served

    # Even without the diff_id check, the cache never answers for other bytes.
    reader = Reader()
    engine = _run(forged, LayerCacheDir(cache), reader, tmp_path, verify=False)
    assert engine.from_cache == [] and reader.seen == ["/data/app"]
    assert [f.extra["sha256"] for f in engine.result.findings] == [
        hashlib.sha256(b"EVIL payload\n").hexdigest()]


def test_the_cache_stays_under_its_size_and_evicts_the_oldest(tmp_path: Path) -> None:
    big = [kit.Layer([kit.file(f"data/f{i}", bytes([i]) * 10)]) for i in range(6)]
    ref = _oci(tmp_path, "img", big)
    _run(ref, LayerCacheDir(tmp_path / "full"), Reader(), tmp_path)
    sizes = [p.stat().st_size for p in (tmp_path / "full" / "layers").iterdir()]
    assert len(sizes) == 6
    small = LayerCacheDir(tmp_path / "small", max_bytes=sum(sizes) // 2)
    _run(ref, small, Reader(), tmp_path)
    info = small.info()
    assert info.bytes <= sum(sizes) // 2
    assert 0 < info.layers + info.inventories + info.results < 8
    # The layers written last (the top ones) are the ones kept: a rescan hits only them.
    _drop_whole_results(tmp_path / "small")
    again = _run(ref, LayerCacheDir(tmp_path / "small", max_bytes=sum(sizes) // 2),
                 Reader(), tmp_path)
    assert again.from_cache == []  # the bottom layer went first, and keys hold those below
    assert small.clean() == info.layers + info.inventories + info.results
    assert small.info().layers == 0


class Inventory:
    """An inventory-stage tree analyzer that counts its runs and lists /data."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-inventory", version=1, scanners=frozenset({"packages"}),
        stage=STAGE_INVENTORY)
    runs = 0

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        Inventory.runs += 1
        return AnalysisResult(packages=[
            Package(name=e.path.rsplit("/", 1)[1], version="1", type="test")
            for e in fs.walk() if e.path.startswith("/data/")])


class Check:
    """A checks-stage tree analyzer: it may read the image's metadata, so it always runs."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-check", version=1, scanners=frozenset({"files"}), stage=STAGE_CHECKS)
    runs = 0

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        Check.runs += 1
        return AnalysisResult(findings=[Finding(
            kind="misconfig", id="count", severity=Severity.LOW, title="packages", path="/",
            extra={"sha256": str(len(ctx.packages))})])


class FilesCheck:
    """A checks-stage analyzer that reads only the files: its result is cached with the
    image's inventory."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-files-check", version=1, scanners=frozenset({"files"}), stage=STAGE_CHECKS)
    reads_only_files: ClassVar[bool] = True
    runs = 0

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        FilesCheck.runs += 1
        return AnalysisResult(findings=[Finding(
            kind="misconfig", id="entries", severity=Severity.LOW, title="entries", path="/",
            extra={"sha256": str(sum(1 for _ in fs.walk()))})])


def test_an_unchanged_image_is_not_inventoried_again_but_its_checks_run(
        tmp_path: Path) -> None:
    """On another day the whole-scan entry misses (end-of-life dates, password ageing), so
    the checks run again, on the cached inventory; the same day again, nothing runs."""
    ref = _oci(tmp_path, "img", _layers())
    cache = tmp_path / "cache"
    Inventory.runs = Check.runs = FilesCheck.runs = 0

    def once(day: int) -> EngineResult:
        with open_image(ref, SourceOptions()) as image:
            return run(image, [Reader(), Inventory(), Check(), FilesCheck()],
                       EngineOptions(temp_dir=str(tmp_path), cache=LayerCacheDir(cache),
                                     now=datetime(2026, 12, day, 12, tzinfo=UTC)))

    cold, warm = once(1), once(2)
    assert (Inventory.runs, Check.runs, FilesCheck.runs) == (1, 2, 1)
    assert not cold.inventory_from_cache and warm.inventory_from_cache
    assert not warm.image_from_cache
    assert sorted(p.name for p in warm.result.packages) == ["app", "top"]
    assert [f.extra for f in warm.result.findings if f.id == "count"] == [{"sha256": "2"}]
    assert _findings(warm) == _findings(cold)
    again = once(2)
    assert (Inventory.runs, Check.runs, FilesCheck.runs) == (1, 2, 1)
    assert again.image_from_cache and again.result == warm.result
