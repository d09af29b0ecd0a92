"""NpmPackages over real fixture lock files placed at realistic image paths.

Expected counts were taken independently of the analyzer: package-lock v1/v2/v3 list 33
packages (walked with ``json``), of which ``debug@2.6.9`` and ``ms@2.0.0`` appear twice, so 31
distinct name@version; the aliases lock has 3 packages besides the root; yarn_v1.lock has 18
``  version`` lines; yarn_berry.lock 19, minus ``__metadata`` and the ``code@workspace:.``
project = 17; pnpm ``packages:`` keys counted with PyYAML: v5 134, v6 85, v9 22 (one of them
``package1@file:package1`` without a version, so 21).
"""

from __future__ import annotations

import json

import pytest

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.npm import NpmPackages, purl_of
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang"


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return NpmPackages().analyze(view, analysis_context())


def _by_purl(result: AnalysisResult) -> dict[str, Package]:
    return {p.purl or "": p for p in result.packages}


def _manifest(doc: dict[str, object]) -> str:
    return json.dumps(doc)


def test_spec_and_discovery() -> None:
    spec = NpmPackages.spec
    assert spec.name == "npm"
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(NpmPackages(), TreeAnalyzer)
    assert NpmPackages in analyzer_classes()


def test_purl_encodes_scope() -> None:
    assert purl_of("@babel/code-frame", "7.0.0") == "pkg:npm/%40babel/code-frame@7.0.0"
    assert purl_of("lodash", "4.17.21") == "pkg:npm/lodash@4.17.21"


@pytest.mark.parametrize("name", ["package-lock_v1.json", "package-lock_v2.json",
                                  "package-lock_v3.json"])
def test_package_lock_versions(name: str) -> None:
    result = _run([kit.file("/app/package-lock.json", _fixture(f"npm/{name}"))])
    assert result.warnings == []
    assert len(result.packages) == 31
    pkgs = _by_purl(result)
    assert "node_v1" not in {p.name for p in result.packages}  # the root project
    scoped = pkgs["pkg:npm/%40babel/helper-string-parser@7.19.4"]
    assert scoped.name == "@babel/helper-string-parser"
    assert scoped.found_by == "npm-lockfile"
    assert scoped.properties["source"] == "lockfile"
    assert scoped.type == "npm"
    assert scoped.locations[0].path == "/app/package-lock.json"
    # nested node_modules copies are found too, once per name@version
    assert {"pkg:npm/debug@2.6.9", "pkg:npm/debug@2.5.2", "pkg:npm/ms@0.7.2",
            "pkg:npm/ms@2.0.0", "pkg:npm/ms@1.0.0", "pkg:npm/qs@6.5.2"} <= set(pkgs)


def test_package_lock_aliases_use_the_real_name() -> None:
    result = _run([kit.file("/app/npm-shrinkwrap.json",
                            _fixture("npm/package-lock_v2_aliases.json"))])
    assert sorted(p.purl or "" for p in result.packages) == [
        "pkg:npm/%40babel/code-frame@7.0.0",
        "pkg:npm/string-width@4.2.0",
        "pkg:npm/string-width@5.1.2",
    ]


def test_yarn_classic() -> None:
    result = _run([kit.file("/app/yarn.lock", _fixture("yarn/yarn_v1.lock"))])
    assert len(result.packages) == 18
    pkgs = _by_purl(result)
    assert pkgs["pkg:npm/lodash@4.17.11"].locations[0].line == 46
    assert "pkg:npm/%40babel/helper-regex@7.4.4" in pkgs
    assert "pkg:npm/js-tokens@4.0.0" in pkgs  # quoted key with "||"
    assert "pkg:npm/safer-buffer@2.1.2" in pkgs


def test_yarn_berry_skips_workspace() -> None:
    result = _run([kit.file("/app/yarn.lock", _fixture("yarn/yarn_berry.lock"))])
    assert len(result.packages) == 17
    pkgs = _by_purl(result)
    assert "code" not in {p.name for p in result.packages}
    assert "pkg:npm/%40types/color-name@1.1.1" in pkgs
    assert "pkg:npm/ipaddr.js@1.9.1" in pkgs
    assert "pkg:npm/fsevents@2.1.3" in pkgs  # patched npm package


@pytest.mark.parametrize(("name", "count"), [("pnpm-lock_v5.yaml", 134),
                                             ("pnpm-lock_v6.yaml", 85),
                                             ("pnpm-lock_v9.yaml", 21)])
def test_pnpm_lock(name: str, count: int) -> None:
    result = _run([kit.file("/app/pnpm-lock.yaml", _fixture(f"pnpm/{name}"))])
    assert result.warnings == []
    assert len(result.packages) == count


def test_pnpm_key_forms() -> None:
    v5 = _by_purl(_run([kit.file("/app/pnpm-lock.yaml", _fixture("pnpm/pnpm-lock_v5.yaml"))]))
    assert "pkg:npm/%40babel/runtime@7.18.3" in v5
    assert "pkg:npm/debug@4.3.4" in v5  # "/debug/4.3.4_supports-color@8.1.1"
    v6 = _by_purl(_run([kit.file("/app/pnpm-lock.yaml", _fixture("pnpm/pnpm-lock_v6.yaml"))]))
    assert "pkg:npm/%40ungap/promise-all-settled@1.1.2" in v6
    assert "pkg:npm/debug@4.3.4" in v6  # "/debug@4.3.4(supports-color@8.1.1)"
    v9 = _by_purl(_run([kit.file("/app/pnpm-lock.yaml", _fixture("pnpm/pnpm-lock_v9.yaml"))]))
    assert "pkg:npm/%40babel/helper-string-parser@7.24.1" in v9
    assert "pkg:npm/asynckit@0.4.0" in v9  # tarball key, version from the entry
    assert "pkg:npm/debug@4.3.5" in v9
    assert "pkg:npm/is-negative@2.0.1" in v9
    assert "package1" not in {p.name for p in v9.values()}


def test_installed_node_modules() -> None:
    result = _run([
        kit.file("/app/node_modules/express/package.json",
                 _manifest({"name": "express", "version": "4.18.2", "license": "MIT"})),
        kit.file("/app/node_modules/@babel/core/package.json",
                 _manifest({"name": "@babel/core", "version": "7.22.5",
                            "license": {"type": "MIT", "url": "https://x.invalid"}})),
        kit.file("/app/node_modules/old/package.json",
                 _manifest({"name": "old", "version": "0.1.0",
                            "licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]})),
        kit.file("/app/node_modules/express/node_modules/debug/package.json",
                 _manifest({"name": "debug", "version": "2.6.9"})),
        # not installed packages: a test fixture inside a package, a lock file of a dependency
        kit.file("/app/node_modules/express/test/fixtures/package.json",
                 _manifest({"name": "fixture", "version": "9.9.9"})),
        kit.file("/app/node_modules/express/package-lock.json",
                 _fixture("npm/package-lock_v3.json")),
        kit.file("/app/node_modules/.package-lock.json", _fixture("npm/package-lock_v3.json")),
        kit.file("/app/package.json", _manifest({"name": "app", "version": "1.0.0"})),
    ])
    assert result.warnings == []
    pkgs = _by_purl(result)
    assert set(pkgs) == {"pkg:npm/express@4.18.2", "pkg:npm/%40babel/core@7.22.5",
                         "pkg:npm/old@0.1.0", "pkg:npm/debug@2.6.9"}
    assert pkgs["pkg:npm/express@4.18.2"].licenses == ("MIT",)
    assert pkgs["pkg:npm/%40babel/core@7.22.5"].licenses == ("MIT",)
    assert pkgs["pkg:npm/old@0.1.0"].licenses == ("MIT", "Apache-2.0")
    assert pkgs["pkg:npm/debug@2.6.9"].found_by == "npm-installed"
    assert "source" not in pkgs["pkg:npm/debug@2.6.9"].properties


def test_package_in_second_layer_is_introduced_there() -> None:
    result = _run(
        [kit.file("/app/node_modules/express/package.json",
                  _manifest({"name": "express", "version": "4.18.2"}))],
        [kit.file("/app/README", "filler")],
        [kit.file("/app/package-lock.json", _fixture("npm/package-lock_v2.json"))],
    )
    pkgs = _by_purl(result)
    assert pkgs["pkg:npm/express@4.18.2"].introduced_in == 0
    qs = pkgs["pkg:npm/qs@6.5.2"]
    assert qs.introduced_in == 2
    assert qs.locations[0].layer == 2


def test_malformed_files_give_located_warnings() -> None:
    result = _run([kit.file("/app/README", "filler")], [
        kit.file("/app/package-lock.json", "{\"packages\": {"),
        kit.file("/app/node_modules/broken/package.json", "not json"),
        kit.file("/web/pnpm-lock.yaml", "this: is not a pnpm lock\n"),
        kit.file("/srv/yarn.lock", _fixture("yarn/yarn_v1.lock")),
    ])
    assert len(result.packages) == 18  # the good file is still read
    located = {(w.path, w.layer, w.analyzer) for w in result.warnings}
    assert located == {
        ("/app/package-lock.json", 1, "npm"),
        ("/app/node_modules/broken/package.json", 1, "npm"),
        ("/web/pnpm-lock.yaml", 1, "npm"),
    }
