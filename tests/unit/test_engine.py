"""The engine's contract with file analyzers: streamed contents, hard links, per-layer results,
visibility of findings, and `failed` statuses. Real images written by the kit, real engine."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    FileScan,
    WholeFileAnalyzer,
)
from portcullis.analyze.caps import WARNINGS_PER_SOURCE
from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.layers.view import Filesystem
from portcullis.model.files import FileMeta
from portcullis.model.finding import Finding, Severity, Warning
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit

MIB = 1 << 20


class _HashScan:
    def __init__(self, meta: FileMeta, layer: int) -> None:
        self.meta = meta
        self.layer = layer
        self.hasher = hashlib.sha256()
        self.chunks = 0
        self.largest = 0

    def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)
        self.chunks += 1
        self.largest = max(self.largest, len(chunk))

    def finish(self) -> AnalysisResult:
        if self.meta.path.endswith("/bad"):
            raise ValueError("cannot digest this one")
        return AnalysisResult(findings=[Finding(
            kind="secret", id="hash", severity=Severity.LOW, title="seen",
            path=self.meta.path, layer=self.layer,
            extra={"sha256": self.hasher.hexdigest(), "chunks": self.chunks,
                   "largest": self.largest})])


class Hasher:
    """Hashes every file under /data as a stream: never holds a whole file."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-hasher", version=1, scanners=frozenset({"secret"}), paths=("/data/*",))

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        return _HashScan(meta, layer)


class Sizer(WholeFileAnalyzer):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-sizer", version=1, scanners=frozenset({"malware"}), paths=("/data/*",),
        max_file_size=64 * 1024)

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult:
        return AnalysisResult(findings=[Finding(
            kind="malware", id="size", severity=Severity.LOW, title="whole",
            path=meta.path, layer=layer, extra={"size": len(data)})])


class CaptureKeep:
    """A tree analyzer that asks for /keep/* to be captured, and reads them back."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-capture", version=1, scanners=frozenset({"files"}), paths=("/keep/*",),
        stage=STAGE_INVENTORY)

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        return AnalysisResult()


def _scan(tmp_path: Path, layers: list[kit.Layer], *analyzers: object) -> EngineResult:
    root = kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=layers), ref="t")
    with open_image(f"oci:{root}:t", SourceOptions()) as image:
        return run(image, list(analyzers), EngineOptions(temp_dir=str(tmp_path)))


def _found(engine: EngineResult, id_: str) -> dict[tuple[str, int], Finding]:
    return {(f.path or "", f.layer or 0): f for f in engine.result.findings if f.id == id_}


def test_a_file_larger_than_any_buffer_arrives_in_chunks(tmp_path: Path) -> None:
    big = bytes(range(256)) * (20 * MIB // 256) + b"tail"
    engine = _scan(tmp_path, [kit.Layer([kit.file("data/big", big)])], Hasher())
    found = _found(engine, "hash")[("/data/big", 0)]
    assert found.extra["sha256"] == hashlib.sha256(big).hexdigest()
    assert found.extra["chunks"] >= 20
    assert found.extra["largest"] <= 4 * MIB
    assert engine.statuses["secret"].status == "ok"


def test_several_analyzers_fed_from_one_read_and_the_whole_file_limit_warns(
        tmp_path: Path) -> None:
    small, large = b"s" * 1000, b"L" * (100 * 1024)
    engine = _scan(tmp_path, [kit.Layer([kit.file("data/small", small),
                                         kit.file("data/large", large)])], Hasher(), Sizer())
    hashes = _found(engine, "hash")
    assert hashes[("/data/small", 0)].extra["sha256"] == hashlib.sha256(small).hexdigest()
    assert hashes[("/data/large", 0)].extra["sha256"] == hashlib.sha256(large).hexdigest()
    assert _found(engine, "size") == {
        ("/data/small", 0): _found(engine, "size")[("/data/small", 0)]}
    assert _found(engine, "size")[("/data/small", 0)].extra == {"size": 1000}
    over = [w for w in engine.result.warnings if w.analyzer == "test-sizer"]
    assert [(w.path, w.layer) for w in over] == [("/data/large", 0)]
    assert "over the test-sizer analyzer's limit (65536); not analyzed" in over[0].message


def test_hard_link_delivers_the_target_content(tmp_path: Path) -> None:
    data = b"linked content" * 1000
    layers = [kit.Layer([kit.file("data/a", data), kit.hardlink("data/b", "data/a")])]
    engine = _scan(tmp_path, layers, Hasher())
    hashes = _found(engine, "hash")
    assert hashes[("/data/b", 0)].extra["sha256"] == hashlib.sha256(data).hexdigest()
    assert hashes[("/data/a", 0)].extra["sha256"] == hashlib.sha256(data).hexdigest()


def test_hard_link_to_a_captured_file_is_replayed(tmp_path: Path) -> None:
    data = b"captured" * 50_000
    layers = [kit.Layer([kit.file("keep/a", data)]),
              kit.Layer([kit.file("keep/a", data), kit.hardlink("data/copy", "keep/a")])]
    engine = _scan(tmp_path, layers, Hasher(), CaptureKeep())
    found = _found(engine, "hash")[("/data/copy", 1)]
    assert found.extra["sha256"] == hashlib.sha256(data).hexdigest()
    assert found.extra["chunks"] >= 1


def test_hard_link_whose_content_was_not_kept_says_so(tmp_path: Path) -> None:
    layers = [kit.Layer([kit.file("srv/a", b"lower")]),
              kit.Layer([kit.hardlink("data/late", "srv/a")])]
    engine = _scan(tmp_path, layers, Hasher())
    assert _found(engine, "hash") == {}
    warned = [(w.path, w.layer, w.analyzer) for w in engine.result.warnings]
    assert ("/data/late", 1, "test-hasher") in warned


def test_an_analyzer_that_raises_fails_its_scanner_and_names_the_file(tmp_path: Path) -> None:
    layers = [kit.Layer([kit.file("data/good", b"g"), kit.file("data/bad", b"b"),
                         kit.file("data/later", b"l")])]
    engine = _scan(tmp_path, layers, Hasher())
    status = engine.statuses["secret"]
    assert status.status == "failed"
    assert status.message == ("test-hasher: /data/bad (layer 0): "
                              "ValueError: cannot digest this one")
    assert {p for p, _ in _found(engine, "hash")} == {"/data/good", "/data/later"}
    assert [(w.path, w.analyzer) for w in engine.result.warnings] == [
        ("/data/bad", "test-hasher")]


def test_findings_in_deleted_or_overwritten_files_are_hidden_but_keep_their_layer(
        tmp_path: Path) -> None:
    layers = [kit.Layer([kit.file("data/deleted", b"one"), kit.file("data/rewritten", b"v1"),
                         kit.file("data/kept", b"k")]),
              kit.Layer([kit.whiteout("data/deleted")]),
              kit.Layer([kit.file("data/rewritten", b"v2")])]
    engine = _scan(tmp_path, layers, Hasher())
    visible = {key: f.visible for key, f in _found(engine, "hash").items()}
    assert visible == {("/data/deleted", 0): False, ("/data/rewritten", 0): False,
                       ("/data/rewritten", 2): True, ("/data/kept", 0): True}
    hidden = _found(engine, "hash")[("/data/deleted", 0)]
    assert hidden.fingerprint != _found(engine, "hash")[("/data/rewritten", 0)].fingerprint


class Complainer(WholeFileAnalyzer):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-complainer", version=1, scanners=frozenset({"malware"}),
        paths=("/data/*",), max_file_size=1024)

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult:
        return AnalysisResult(warnings=[Warning(message="odd", path=meta.path, layer=layer,
                                                analyzer=self.spec.name)])


def test_warnings_are_capped_per_source_and_the_rest_counted(tmp_path: Path) -> None:
    layers = [kit.Layer([kit.file(f"data/f{i:04}", b"x") for i in range(WARNINGS_PER_SOURCE
                                                                          + 57)])]
    engine = _scan(tmp_path, layers, Complainer())
    mine = [w for w in engine.result.warnings if w.analyzer == "test-complainer"]
    assert len(mine) == WARNINGS_PER_SOURCE + 1
    assert mine[-1].path is None
    assert mine[-1].message == (f"57 more warnings from the test-complainer analyzer were "
                                f"dropped (at most {WARNINGS_PER_SOURCE} are listed per source)")
    assert engine.statuses["malware"].status == "ok"


class Picky:
    """An analyzer whose accepts() has a bug on one path."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-picky", version=1, scanners=frozenset({"malware"}), paths=("/data/*",))

    def accepts(self, meta: FileMeta) -> bool:
        if meta.path == "/data/odd":
            raise KeyError("no rule for odd files")
        return False

    def start(self, meta: FileMeta, layer: int, ctx: AnalysisContext) -> FileScan | None:
        return None


def test_an_analyzer_whose_accepts_raises_fails_its_scanner_only(tmp_path: Path) -> None:
    layers = [kit.Layer([kit.file("data/odd", b"o"), kit.file("data/good", b"g")])]
    engine = _scan(tmp_path, layers, Picky(), Hasher())
    assert engine.statuses["malware"].status == "failed"
    assert engine.statuses["malware"].message == (
        "test-picky: /data/odd (layer 0): KeyError: 'no rule for odd files'")
    assert engine.statuses["secret"].status == "ok"
    assert {p for p, _ in _found(engine, "hash")} == {"/data/odd", "/data/good"}


def test_hard_link_chains_are_followed_and_dangling_links_are_named(tmp_path: Path) -> None:
    data = b"chained" * 100
    layers = [kit.Layer([kit.file("data/a", data), kit.hardlink("data/b", "data/a"),
                         kit.hardlink("data/c", "data/b"),
                         kit.hardlink("data/gone", "data/nowhere")])]
    engine = _scan(tmp_path, layers, Hasher())
    hashes = _found(engine, "hash")
    assert hashes[("/data/c", 0)].extra["sha256"] == hashlib.sha256(data).hexdigest()
    assert [(w.path, w.message) for w in engine.result.warnings] == [
        ("/data/gone", "hard link to /data/nowhere, which is not a regular file in this or a "
                       "lower layer; not analyzed")]


class BadWords(WholeFileAnalyzer):
    """Finds something only in files that say "bad"; finds nothing (an empty result) else."""

    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="test-bad-words", version=1, scanners=frozenset({"malware"}),
        paths=("/data/*",))

    def accepts(self, meta: FileMeta) -> bool:
        return True

    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult:
        if b"bad" not in data:
            return AnalysisResult()
        return AnalysisResult(findings=[Finding(
            kind="malware", id="bad", severity=Severity.HIGH, title="bad",
            path=meta.path, layer=layer)])


def test_hard_links_to_files_analysed_earlier_in_the_layer_report_what_they_found(
        tmp_path: Path) -> None:
    """Only results with something in them are kept per file (the rest is one bit per
    analyzer): a link to a clean file is analysed and clean, not "not analyzed"."""
    layers = [kit.Layer([kit.file("data/clean", b"fine"), kit.file("data/evil", b"bad"),
                         kit.hardlink("data/clean-link", "data/clean"),
                         kit.hardlink("data/evil-link", "data/evil")])]
    engine = _scan(tmp_path, layers, BadWords(), Hasher())
    assert sorted(_found(engine, "bad")) == [("/data/evil", 0), ("/data/evil-link", 0)]
    assert engine.result.warnings == []
    assert sorted(_found(engine, "hash")) == [("/data/clean", 0), ("/data/clean-link", 0),
                                              ("/data/evil", 0), ("/data/evil-link", 0)]
