"""CargoLock over real Cargo.lock fixtures, CargoAuditable over ELF files written here.

Expected numbers were counted without the analyzer: ``grep -c '^\\[\\[package\\]\\]'`` gives
14 for syft/Cargo.lock (all ``source = "registry+https://github.com/rust-lang/crates.io-index"``)
and 74 for trivy-ci-test/Cargo.lock (73 from crates.io, plus the source-less root crate
``normal`` 0.1.0); no name/version pair repeats in either file.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisResult,
    FileAnalyzer,
    TreeAnalyzer,
)
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.rust import CargoAuditable, CargoLock
from portcullis.model.files import FileKind, FileMeta
from portcullis.model.package import Package
from tests.analyzers.test_go_binary import build_elf
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang" / "rust"
CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return CargoLock().analyze(view, analysis_context())


def _by_purl(packages: list[Package]) -> dict[str, Package]:
    return {p.purl or "": p for p in packages}


# Cargo.lock ---------------------------------------------------------------------------------


def test_cargo_lock_spec_and_discovery() -> None:
    spec = CargoLock.spec
    assert (spec.name, spec.stage) == ("cargo-lock", STAGE_INVENTORY)
    assert spec.paths == ("*/Cargo.lock",)
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(CargoLock(), TreeAnalyzer)
    assert CargoLock in analyzer_classes()


def test_syft_cargo_lock() -> None:
    result = _run([kit.file("app/Cargo.lock", _fixture("syft/Cargo.lock"))])
    assert result.warnings == []
    assert len(result.packages) == 14
    pkgs = _by_purl(result.packages)
    ansi = pkgs["pkg:cargo/ansi_term@0.12.1"]
    assert (ansi.name, ansi.version, ansi.type) == ("ansi_term", "0.12.1", "rust-crate")
    assert ansi.found_by == "cargo-lock"
    assert ansi.properties["source"] == CRATES_IO
    assert ansi.locations[0].path == "/app/Cargo.lock"
    assert ansi.locations[0].layer == 0 and ansi.introduced_in == 0
    assert "pkg:cargo/errno@0.3.9" in pkgs and "pkg:cargo/matches@0.1.8" in pkgs


def test_trivy_cargo_lock_in_a_later_layer() -> None:
    data = _fixture("trivy-ci-test/Cargo.lock")
    result = _run([kit.file("etc/hostname", "x\n")],
                  [kit.file("src/app/Cargo.lock", data)])
    assert result.warnings == []
    assert len(result.packages) == 74
    pkgs = _by_purl(result.packages)
    for purl in ("pkg:cargo/openssl@0.8.3", "pkg:cargo/smallvec@0.6.9",
                 "pkg:cargo/ammonia@1.9.0", "pkg:cargo/normal@0.1.0"):
        assert pkgs[purl].introduced_in == 1
        assert pkgs[purl].locations[0].path == "/src/app/Cargo.lock"
    assert "source" not in pkgs["pkg:cargo/normal@0.1.0"].properties


def test_git_and_path_sources_are_not_packages() -> None:
    lock = (
        'version = 3\n\n'
        '[[package]]\nname = "app"\nversion = "0.1.0"\n\n'
        f'[[package]]\nname = "serde"\nversion = "1.0.200"\nsource = "{CRATES_IO}"\n\n'
        '[[package]]\nname = "sparse"\nversion = "1.0.0"\n'
        'source = "sparse+https://index.crates.io/"\n\n'
        '[[package]]\nname = "forked"\nversion = "0.2.0"\n'
        'source = "git+https://github.com/x/forked#0123abcd"\n'
    )
    result = _run([kit.file("app/Cargo.lock", lock)])
    assert sorted(p.purl or "" for p in result.packages) == [
        "pkg:cargo/app@0.1.0", "pkg:cargo/serde@1.0.200", "pkg:cargo/sparse@1.0.0"]


def test_broken_cargo_lock_is_a_warning() -> None:
    result = _run([kit.file("app/Cargo.lock", "[[package]\nname = ")])
    assert result.packages == []
    assert len(result.warnings) == 1
    assert result.warnings[0].path == "/app/Cargo.lock"
    assert result.warnings[0].analyzer == "cargo-lock"


# cargo-auditable ----------------------------------------------------------------------------

AUDIT = {
    "packages": [
        {"name": "myapp", "version": "0.3.1", "source": "local", "dependencies": [1, 2],
         "root": True},
        {"name": "serde", "version": "1.0.200", "source": "crates.io", "dependencies": []},
        {"name": "cc", "version": "1.0.90", "source": "crates.io", "kind": "build"},
        {"name": "libgit", "version": "0.1.0", "source": "git"},
    ],
}


def _audited_elf(doc: object, *, raw: bytes | None = None) -> bytes:
    payload = raw if raw is not None else zlib.compress(json.dumps(doc).encode())
    return build_elf([(".text", b"\xc3" * 32), (".dep-v0", payload)])


def _audit(data: bytes, layer: int = 1) -> AnalysisResult:
    meta = FileMeta(path="/usr/local/bin/myapp", kind=FileKind.FILE, size=len(data), mode=0o755)
    return CargoAuditable().analyze_file(meta, data, layer, analysis_context())


def test_cargo_auditable_spec_and_accepts() -> None:
    spec = CargoAuditable.spec
    assert (spec.name, spec.stage) == ("cargo-auditable", STAGE_INVENTORY)
    assert spec.scanners == frozenset({"packages"})
    analyzer = CargoAuditable()
    assert isinstance(analyzer, FileAnalyzer)
    assert CargoAuditable in analyzer_classes()
    assert analyzer.accepts(FileMeta(path="/b", kind=FileKind.FILE, size=4096, mode=0o755))
    assert not analyzer.accepts(FileMeta(path="/b", kind=FileKind.FILE, size=4096, mode=0o644))
    assert not analyzer.accepts(FileMeta(path="/b", kind=FileKind.FILE, size=100, mode=0o755))


def test_cargo_auditable_section_decoded() -> None:
    result = _audit(_audited_elf(AUDIT))
    assert result.warnings == []
    pkgs = _by_purl(result.packages)
    assert sorted(pkgs) == ["pkg:cargo/cc@1.0.90", "pkg:cargo/libgit@0.1.0",
                            "pkg:cargo/myapp@0.3.1", "pkg:cargo/serde@1.0.200"]
    root = pkgs["pkg:cargo/myapp@0.3.1"]
    assert root.properties == {"source": "local", "kind": "runtime", "root": "true"}
    serde = pkgs["pkg:cargo/serde@1.0.200"]
    assert serde.properties == {"source": "crates.io", "kind": "runtime"}
    assert serde.type == "rust-crate" and serde.found_by == "cargo-auditable"
    assert serde.locations[0].path == "/usr/local/bin/myapp"
    assert serde.locations[0].layer == 1 and serde.introduced_in == 1
    assert pkgs["pkg:cargo/cc@1.0.90"].properties["kind"] == "build"


def test_cargo_auditable_through_the_engine(tmp_path: Path) -> None:
    from portcullis.scan import ScanOptions, scan

    spec = kit.ImageSpec(layers=[
        kit.Layer([kit.file("etc/hostname", "x\n")]),
        kit.Layer([kit.file("usr/local/bin/myapp", _audited_elf(AUDIT), mode=0o755),
                   kit.file("app/Cargo.lock", _fixture("syft/Cargo.lock"))]),
    ])
    layout = kit.write_oci_layout(tmp_path / "oci", spec)
    report = scan(f"oci:{layout}:latest", ScanOptions(scanners=frozenset({"packages"})))
    audited = [p for p in report.packages if p.found_by == "cargo-auditable"]
    locked = [p for p in report.packages if p.found_by == "cargo-lock"]
    assert len(audited) == 4 and {p.introduced_in for p in audited} == {1}
    assert len(locked) == 14 and {p.introduced_in for p in locked} == {1}


def test_elf_without_audit_data_gives_nothing() -> None:
    result = _audit(build_elf([(".text", b"\xc3" * 32)]))
    assert result.packages == [] and result.warnings == []
    result = _audit(Path("/bin/ls").read_bytes())  # coreutils: a real ELF without audit data
    assert result.packages == [] and result.warnings == []


def test_corrupt_audit_data_is_a_warning() -> None:
    for data in (_audited_elf(None, raw=b"not zlib at all"),
                 _audited_elf(None, raw=zlib.compress(b"{not json")),
                 _audited_elf({"crates": []})):
        result = _audit(data)
        assert result.packages == []
        assert len(result.warnings) == 1
        assert result.warnings[0].analyzer == "cargo-auditable"


def test_zip_bomb_is_refused() -> None:
    bomb = zlib.compress(b'{"packages": [' + b" " * (9 * 1024 * 1024) + b"]}", 9)
    result = _audit(_audited_elf(None, raw=bomb))
    assert result.packages == []
    assert "inflates to more than" in result.warnings[0].message


def test_truncated_audited_elf_does_not_crash() -> None:
    data = _audited_elf(AUDIT)
    for cut in (0, 4, 30, 64, 200, len(data) - 10):
        result = _audit(data[:cut])
        assert result.packages == []
