"""ComposerPackages over the real composer.lock fixture at realistic image paths.

Expected counts were taken independently of the analyzer: ``grep -n '^            "name"'``
lists 10 package entries, 8 before the ``"packages-dev"`` key (line 659) and 2 after it
(pear/log 1.13.3, pear/pear_exception v1.0.2). Three symfony packages are versioned with a
leading ``v``, and two carry ``license`` as a string instead of a list.
"""

from __future__ import annotations

import json

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.php import ComposerPackages, purl_of
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang" / "composer"
DEV = {"pear/log", "pear/pear_exception"}


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _lock() -> dict[str, list[dict[str, object]]]:
    doc: dict[str, list[dict[str, object]]] = json.loads(_fixture("composer.lock"))
    return doc


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return ComposerPackages().analyze(view, analysis_context())


def _by_purl(result: AnalysisResult) -> dict[str, Package]:
    return {p.purl or "": p for p in result.packages}


def test_spec_and_discovery() -> None:
    spec = ComposerPackages.spec
    assert spec.name == "composer"
    assert spec.version == 1
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(ComposerPackages(), TreeAnalyzer)
    assert ComposerPackages in analyzer_classes()


def test_purl_keeps_version_as_written() -> None:
    assert purl_of("guzzlehttp/guzzle", "6.5.8") == "pkg:composer/guzzlehttp/guzzle@6.5.8"
    assert purl_of("symfony/polyfill-php72", "v1.27.0") == \
        "pkg:composer/symfony/polyfill-php72@v1.27.0"


def test_composer_lock() -> None:
    result = _run([kit.file("/var/www/composer.lock", _fixture("composer.lock"))])
    assert result.warnings == []
    assert len(result.packages) == 10
    pkgs = _by_purl(result)
    guzzle = pkgs["pkg:composer/guzzlehttp/guzzle@6.5.8"]
    assert guzzle.name == "guzzlehttp/guzzle"
    assert guzzle.type == "php-composer"
    assert guzzle.licenses == ("MIT",)
    assert guzzle.found_by == "composer-lockfile"
    assert guzzle.properties == {"source": "lockfile"}
    assert guzzle.locations[0].path == "/var/www/composer.lock"
    idn = pkgs["pkg:composer/symfony/polyfill-intl-idn@v1.27.0"]
    assert idn.version == "v1.27.0"
    # license given as a string
    assert pkgs["pkg:composer/symfony/polyfill-intl-normalizer@v1.27.0"].licenses == ("MIT",)
    assert pkgs["pkg:composer/symfony/polyfill-php72@v1.27.0"].licenses == \
        ("MIT or BSD-2-Clause",)
    # dev packages are flagged, the others are not
    assert {p.name for p in result.packages if p.properties.get("dev") == "true"} == DEV
    log = pkgs["pkg:composer/pear/log@1.13.3"]
    assert log.properties == {"source": "lockfile", "dev": "true"}
    assert pkgs["pkg:composer/pear/pear_exception@v1.0.2"].licenses == ("BSD-2-Clause",)


def test_installed_json_composer2() -> None:
    lock = _lock()
    installed = {"packages": lock["packages"] + lock["packages-dev"], "dev": True,
                 "dev-package-names": sorted(DEV)}
    result = _run([kit.file("/var/www/vendor/composer/installed.json", json.dumps(installed))])
    assert result.warnings == []
    assert len(result.packages) == 10
    assert {p.found_by for p in result.packages} == {"composer-installed"}
    assert {p.name for p in result.packages if p.properties.get("dev") == "true"} == DEV
    pkgs = _by_purl(result)
    assert pkgs["pkg:composer/guzzlehttp/psr7@1.9.0"].properties == {"source": "installed"}


def test_installed_json_composer1_list() -> None:
    installed = _lock()["packages"]
    result = _run([kit.file("/srv/app/vendor/composer/installed.json", json.dumps(installed))])
    assert result.warnings == []
    assert len(result.packages) == 8
    assert "pkg:composer/ralouphie/getallheaders@3.0.3" in _by_purl(result)
    assert all("dev" not in p.properties for p in result.packages)


def test_lock_files_inside_vendor_are_ignored() -> None:
    result = _run([kit.file("/var/www/vendor/guzzlehttp/guzzle/composer.lock",
                            _fixture("composer.lock"))])
    assert result.packages == []


def test_introduced_in_comes_from_the_layer() -> None:
    result = _run(
        [kit.file("/var/www/index.php", "<?php echo 1;\n")],
        [kit.file("/var/www/composer.lock", _fixture("composer.lock"))],
    )
    guzzle = _by_purl(result)["pkg:composer/guzzlehttp/guzzle@6.5.8"]
    assert guzzle.introduced_in == 1
    assert guzzle.locations[0].layer == 1


def test_malformed_files_give_located_warnings() -> None:
    result = _run([kit.file("/var/www/index.php", "<?php echo 1;\n")], [
        kit.file("/var/www/composer.lock", "{not json"),
        kit.file("/srv/a/composer.lock", '{"packages": {"guzzlehttp/guzzle": "6.5.8"}}'),
        kit.file("/srv/b/vendor/composer/installed.json", '"just a string"'),
        kit.file("/srv/c/composer.lock", _fixture("composer.lock")),
    ])
    assert len(result.packages) == 10  # the good file is still read
    located = {(w.path, w.layer, w.analyzer) for w in result.warnings}
    assert located == {
        ("/var/www/composer.lock", 1, "composer"),
        ("/srv/a/composer.lock", 1, "composer"),
        ("/srv/b/vendor/composer/installed.json", 1, "composer"),
    }
