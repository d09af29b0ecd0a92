"""DotnetDeps over real .NET fixtures placed at realistic image paths.

Expected counts were taken independently of the analyzer with grep: TestLibrary.deps.json has
12 ``"type": "package"`` libraries and 2 ``"type": "project"`` ones (TestLibrary, TestCommon);
without-runtime.deps.json 7 packages and 1 project (hello2). packages.lock.json has 10
``"resolved"`` entries over two target frameworks (net8.0: 8, .netcore2.0: 2); bootstrap 5.0.0
appears in both, log4net in two versions (2.0.5 and 1.2.15), so 9 distinct packages.
"""

from __future__ import annotations

import json

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.dotnet import DotnetDeps, purl_of
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang" / "dotnet"


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return DotnetDeps().analyze(view, analysis_context())


def _by_purl(result: AnalysisResult) -> dict[str, Package]:
    return {p.purl or "": p for p in result.packages}


def test_spec_and_discovery() -> None:
    spec = DotnetDeps.spec
    assert spec.name == "dotnet"
    assert spec.version == 1
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(DotnetDeps(), TreeAnalyzer)
    assert DotnetDeps in analyzer_classes()


def test_purl() -> None:
    assert purl_of("Newtonsoft.Json", "13.0.1") == "pkg:nuget/Newtonsoft.Json@13.0.1"


def test_deps_json() -> None:
    result = _run([kit.file("/app/TestLibrary.deps.json", _fixture("TestLibrary.deps.json"))])
    assert result.warnings == []
    assert len(result.packages) == 12
    names = {p.name for p in result.packages}
    assert "TestLibrary" not in names  # projects are skipped
    assert "TestCommon" not in names
    pkgs = _by_purl(result)
    newtonsoft = pkgs["pkg:nuget/Newtonsoft.Json@13.0.1"]
    assert newtonsoft.type == "dotnet"
    assert newtonsoft.found_by == "dotnet-deps"
    assert newtonsoft.locations[0].path == "/app/TestLibrary.deps.json"
    assert newtonsoft.properties["sha512"] == (
        "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHa"
        "xOrt20A==")
    assert pkgs["pkg:nuget/AWSSDK.Core@3.7.10.6"].version == "3.7.10.6"
    assert "pkg:nuget/System.Runtime.CompilerServices.Unsafe@6.0.0" in pkgs


def test_deps_json_without_runtime() -> None:
    result = _run([kit.file("/app/hello2.deps.json", _fixture("without-runtime.deps.json"))])
    assert result.warnings == []
    assert len(result.packages) == 7
    pkgs = _by_purl(result)
    assert "hello2" not in {p.name for p in result.packages}
    assert "pkg:nuget/JsonDiffPatch@2.0.61" in pkgs
    assert "pkg:nuget/Microsoft.NETCore.App@1.1.2" in pkgs
    assert "pkg:nuget/System.Net.Http@4.1.0" in pkgs


def test_packages_lock_json() -> None:
    result = _run([kit.file("/src/WebApp/packages.lock.json", _fixture("packages.lock.json"))])
    assert result.warnings == []
    assert len(result.packages) == 9
    pkgs = _by_purl(result)
    assert {p.version for p in result.packages if p.name == "log4net"} == {"2.0.5", "1.2.15"}
    assert [p.name for p in result.packages].count("bootstrap") == 1
    automapper = pkgs["pkg:nuget/AutoMapper@13.0.1"]
    assert automapper.found_by == "dotnet-lockfile"
    assert automapper.properties["dependency_type"] == "Direct"
    assert automapper.properties["source"] == "lockfile"
    assert pkgs["pkg:nuget/Microsoft.Extensions.Options@9.0.0"].properties[
        "dependency_type"] == "Transitive"


def test_packages_lock_skips_project_references() -> None:
    doc = {"version": 1, "dependencies": {"net8.0": {
        "Serilog": {"type": "Direct", "requested": "[3.1.1, )", "resolved": "3.1.1",
                    "contentHash": "P6G4/4Kt9bT635bhuwdXlJ2SCqqn2nhh4gqFqQueCOr9bK/e7W9ll/I"
                                   "oX1Ter948cV2Z/5+5v8pAfJYUISY03A=="},
        "MyCompany.Shared": {"type": "Project",
                             "dependencies": {"Serilog": "[3.1.1, )"}},
    }}}
    result = _run([kit.file("/src/App/packages.lock.json", json.dumps(doc))])
    assert [p.purl for p in result.packages] == ["pkg:nuget/Serilog@3.1.1"]


def test_introduced_in_comes_from_the_layer() -> None:
    result = _run(
        [kit.file("/app/README", "base")],
        [kit.file("/app/TestLibrary.deps.json", _fixture("TestLibrary.deps.json"))],
    )
    serilog = _by_purl(result)["pkg:nuget/Serilog@2.10.0"]
    assert serilog.introduced_in == 1
    assert serilog.locations[0].layer == 1


def test_malformed_files_give_located_warnings() -> None:
    result = _run([kit.file("/app/README", "base")], [
        kit.file("/app/Broken.deps.json", "{not json"),
        kit.file("/app/NoLibraries.deps.json", '{"targets": {}}'),
        kit.file("/src/App/packages.lock.json", "[]"),
        kit.file("/app/TestLibrary.deps.json", _fixture("TestLibrary.deps.json")),
    ])
    assert len(result.packages) == 12  # the good file is still read
    located = {(w.path, w.layer, w.analyzer) for w in result.warnings}
    assert located == {
        ("/app/Broken.deps.json", 1, "dotnet"),
        ("/app/NoLibraries.deps.json", 1, "dotnet"),
        ("/src/App/packages.lock.json", 1, "dotnet"),
    }
