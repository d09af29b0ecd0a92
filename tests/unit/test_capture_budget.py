"""Spooled captures count against ``max_capture_total``: zeros compress so well that a 2.4 MB
image held 2.4 GB of jars, all of which used to be spooled to the temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    matched_files,
)
from portcullis.analyze.engine import EngineOptions, run
from portcullis.analyze.lang.java import JavaArchives
from portcullis.layers.content import ContentStore
from portcullis.layers.view import Filesystem
from portcullis.limits import MiB, ScanLimits
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit


class CapturedBytes:
    """Counts what the capture store kept of every jar: the bytes a tree analyzer can read."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-captured", version=1, scanners=frozenset({"files"}), paths=("*.jar",),
        stage=STAGE_INVENTORY)

    def __init__(self) -> None:
        self.readable: dict[str, int] = {}

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        for entry in matched_files(fs, ("*.jar",)):
            data = fs.read_entry(entry)
            if data is not None:
                self.readable[entry.path] = len(data)
        return AnalysisResult()


def test_jars_of_zeros_stop_at_the_capture_budget_with_a_warning_per_file(
        tmp_path: Path) -> None:
    jars = [f"opt/app/lib/zeros-{n}.jar" for n in range(6)]
    layers = [kit.Layer([kit.file(name, bytes(8 * MiB)) for name in jars])]
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 1 * MiB
    budget = 20 * MiB
    counter = CapturedBytes()
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        engine = run(image, [counter, JavaArchives()],
                     EngineOptions(temp_dir=str(tmp_path),
                                   limits=ScanLimits(max_capture_total=budget)))
    assert sum(counter.readable.values()) <= budget
    assert len(counter.readable) == 2  # two 8 MiB files fit in 20 MiB, the third does not
    over = {w.path for w in engine.result.warnings if "max_capture_total" in w.message}
    assert over == {f"/{name}" for name in jars} - set(counter.readable)
    assert all(w.layer == 0 for w in engine.result.warnings if w.path in over)


def test_a_writer_stops_mid_file_at_the_budget_and_keeps_nothing(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path))
    store.put(0, "/first", b"x" * 600)
    writer = store.writer(0, "/second", budget=1000)
    for _ in range(10):
        writer.write(b"y" * 100)
        assert store.held <= 1000
    assert writer.over
    assert not writer.commit()
    assert not store.has(0, "/second")
    assert store.held == 600  # what the second file had spooled was given back
    assert store.get(0, "/first") == b"x" * 600


def test_a_replaced_capture_gives_its_bytes_back(tmp_path: Path) -> None:
    store = ContentStore(str(tmp_path))
    store.put(0, "/a", b"1" * 500)
    store.put(0, "/a", b"2" * 300)
    assert store.held == 300
    store.close()
    assert store.held == 0
