"""The whole-scan cache entry: a rescan of an unchanged image with the same settings takes the
engine's result from one entry (no view built, no tree analyzer run), gives the same result,
and misses when anything the analyzers read besides the files changes. Real kit images, every
shipped analyzer, the real engine and cache folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from portcullis.analyze.base import (
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    CheckSettings,
)
from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.cache import LayerCacheDir
from portcullis.layers.view import Filesystem
from portcullis.model.compliance import CompliancePolicy, ComplianceSettings
from portcullis.scan import _selected_analyzers, parse_scanners
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit

DAY = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _oci(tmp_path: Path, name: str, spec: kit.ImageSpec) -> str:
    root = kit.write_oci_layout(tmp_path / name, spec, ref="t")
    return f"oci:{root}:t"


def _scan(reference: str, cache: Path, tmp: Path, analyzers: list[object] | None = None,
          **options: object) -> EngineResult:
    chosen = analyzers if analyzers is not None else _selected_analyzers(parse_scanners("all"))
    settings = {"now": DAY, **options}
    with open_image(reference, SourceOptions()) as image:
        engine = run(image, chosen, EngineOptions(temp_dir=str(tmp), cache=LayerCacheDir(cache),
                                                  **settings))  # type: ignore[arg-type]
        if not engine.image_from_cache:
            engine.close()
        return engine


def _entries(cache: Path, kind: str) -> list[Path]:
    return sorted((cache / kind).iterdir())


def test_a_rescan_of_an_unchanged_image_is_one_entry_and_the_same_result(
        tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", kit.sample_image())
    cache = tmp_path / "cache"
    cold = _scan(ref, cache, tmp_path)
    assert not cold.image_from_cache and len(_entries(cache, "images")) == 1
    # Without the layer entries, a rescan that read a single layer would write them again.
    for entry in _entries(cache, "layers") + _entries(cache, "inventories"):
        entry.unlink()
    warm = _scan(ref, cache, tmp_path)
    assert warm.image_from_cache and warm.built is None
    assert _entries(cache, "layers") == []
    assert warm.result == cold.result and warm.files == cold.files
    assert warm.result.findings and warm.files.count > 0
    assert {k: (s.status, s.message) for k, s in warm.statuses.items()} == \
        {k: (s.status, s.message) for k, s in cold.statuses.items()}


def test_the_view_of_a_whole_hit_is_built_when_asked(tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", kit.sample_image())
    cache = tmp_path / "cache"
    with open_image(ref, SourceOptions()) as image:
        options = EngineOptions(temp_dir=str(tmp_path), cache=LayerCacheDir(cache), now=DAY)
        cold = run(image, _selected_analyzers(parse_scanners("all")), options)
        warm = run(image, _selected_analyzers(parse_scanners("all")), options)
        assert warm.image_from_cache and warm.built is None
        assert sorted((e.path, e.layer) for e in warm.view.walk()) == \
            sorted((e.path, e.layer) for e in cold.view.walk())
        cold.close()
        warm.close()


def test_each_input_the_checks_read_besides_the_files_makes_a_miss(tmp_path: Path) -> None:
    spec = kit.sample_image()
    ref = _oci(tmp_path, "img", spec)
    cache = tmp_path / "cache"
    _scan(ref, cache, tmp_path)
    assert _scan(ref, cache, tmp_path).image_from_cache

    relabelled = kit.ImageSpec(layers=spec.layers, config={"Labels": {"team": "other"}})
    assert not _scan(_oci(tmp_path, "relabelled", relabelled), cache, tmp_path).image_from_cache
    assert not _scan(ref, cache, tmp_path,
                     now=datetime(2027, 6, 1, 12, tzinfo=UTC)).image_from_cache
    policy = ComplianceSettings(policy=CompliancePolicy(allow=frozenset({"busybox"})))
    assert not _scan(ref, cache, tmp_path, compliance=policy).image_from_cache
    assert _scan(ref, cache, tmp_path, compliance=policy).image_from_cache
    assert not _scan(ref, cache, tmp_path,
                     checks=CheckSettings(password_budget=5.0)).image_from_cache
    words = tmp_path / "words.txt"
    words.write_text("hunter2\n")
    assert not _scan(ref, cache, tmp_path,
                     checks=CheckSettings(password_dictionary=words)).image_from_cache
    assert _scan(ref, cache, tmp_path,
                 checks=CheckSettings(password_dictionary=words)).image_from_cache
    words.write_text("hunter3\n")  # the same path, other words
    assert not _scan(ref, cache, tmp_path,
                     checks=CheckSettings(password_dictionary=words)).image_from_cache
    eol = tmp_path / "eol.json"
    eol.write_text("{}")
    assert not _scan(ref, cache, tmp_path,
                     compliance=ComplianceSettings(eol_file=eol)).image_from_cache
    assert not _scan(ref, cache, tmp_path, verify_diff_ids=False).image_from_cache


class Failing:
    """A tree analyzer that always fails."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-failing", version=1, scanners=frozenset({"files"}))

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        raise RuntimeError("broken on purpose")


def test_a_scan_in_which_an_analyzer_failed_is_not_kept(tmp_path: Path) -> None:
    ref = _oci(tmp_path, "img", kit.sample_image())
    cache = tmp_path / "cache"
    analyzers = [*_selected_analyzers(parse_scanners("files")), Failing()]
    first = _scan(ref, cache, tmp_path, analyzers)
    assert first.statuses["files"].status == "failed"
    assert _entries(cache, "images") == []
    again = _scan(ref, cache, tmp_path, analyzers)
    assert not again.image_from_cache and again.statuses["files"].status == "failed"


def test_other_bytes_under_the_same_config_are_not_served(tmp_path: Path) -> None:
    """A docker archive whose config is the cached image's but whose layer tar is not: without
    the diff_id check (nothing else would notice), the whole-scan entry still misses."""
    def image(distro: str) -> kit.ImageSpec:
        release = f"ID={distro}\nVERSION_ID=1\n"
        return kit.ImageSpec(layers=[kit.Layer([kit.directory("etc"),
                                                kit.file("etc/os-release", release)],
                                               compression="none")])

    benign, malicious = image("alpine"), image("debian")
    files, links = kit.docker_archive_files(benign, style="legacy")
    good = f"docker-archive:{kit.write_tar(tmp_path / 'good.tar', files, links)}"
    cache = tmp_path / "cache"
    _scan(good, cache, tmp_path, verify_diff_ids=False)
    assert _scan(good, cache, tmp_path, verify_diff_ids=False).image_from_cache
    evil, _ = kit.docker_archive_files(malicious, style="legacy")
    [layer] = json.loads(files["manifest.json"])[0]["Layers"]
    [bad] = json.loads(evil["manifest.json"])[0]["Layers"]
    files[layer] = evil[bad]
    forged = f"docker-archive:{kit.write_tar(tmp_path / 'forged.tar', files, links)}"
    engine = _scan(forged, cache, tmp_path, verify_diff_ids=False)
    assert not engine.image_from_cache and engine.from_cache == []
    assert engine.result.distro is not None and engine.result.distro.name == "debian"
