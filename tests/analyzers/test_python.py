"""PythonPackages over real fixture files placed at realistic image paths.

Expected counts were taken independently of the analyzer: ``grep -c '^\\[\\[package\\]\\]'``
(poetry.lock 15, uv.lock 21 incl. the virtual root project ``normal``), Pipfile.lock has 24
``default`` entries and an empty ``develop``, requirements_hash.txt pins 2 (FooProject, Jinja2).
"""

from __future__ import annotations

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.python import PythonPackages, normalise_name
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIX = DATA / "lang" / "python"
SITE = "/usr/local/lib/python3.11/site-packages"
DIST = "/usr/lib/python3/dist-packages"


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


def _run(*layers: list[kit.Entry]) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return PythonPackages().analyze(view, analysis_context())


def _by_purl(result: AnalysisResult) -> dict[str, Package]:
    return {p.purl or "": p for p in result.packages}


def test_spec_and_discovery() -> None:
    spec = PythonPackages.spec
    assert spec.name == "python"
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert isinstance(PythonPackages(), TreeAnalyzer)
    assert PythonPackages in analyzer_classes()


def test_normalise_name_pep503() -> None:
    assert normalise_name("Typing_Extensions") == "typing-extensions"
    assert normalise_name("zope.interface") == "zope-interface"
    assert normalise_name("a__-.b") == "a-b"


def test_installed_dist_info_and_egg_info() -> None:
    result = _run([
        kit.file(f"{DIST}/asyncssh-2.14.2.dist-info/METADATA",
                 _fixture("dist-info/asyncssh-2.14.2.METADATA")),
        kit.file(f"{SITE}/networkx-3.0.dist-info/METADATA",
                 _fixture("dist-info/networkx-3.0.METADATA")),
        kit.file(f"{SITE}/zipp-3.12.1.dist-info/METADATA",
                 _fixture("dist-info/zipp-3.12.1.METADATA")),
        kit.file(f"{SITE}/iniconfig-2.0.0.dist-info/METADATA",
                 _fixture("dist-info/iniconfig-2.0.0.METADATA")),
        kit.file(f"{SITE}/typing_extensions-4.4.0.dist-info/METADATA",
                 _fixture("site-packages/typing_extensions-4.4.0.dist-info/METADATA")),
        kit.file(f"{SITE}/typing_extensions-4.4.0.dist-info/LICENSE.txt",
                 _fixture("site-packages/typing_extensions-4.4.0.dist-info/LICENSE.txt")),
        kit.file(f"{DIST}/setuptools-51.3.3-py3.8.egg-info/PKG-INFO",
                 _fixture("egg-info/setuptools-51.3.3-py3.8.egg-info/PKG-INFO")),
    ])
    assert result.warnings == []
    assert len(result.packages) == 6
    pkgs = _by_purl(result)
    assert set(pkgs) == {
        "pkg:pypi/asyncssh@2.14.2",
        "pkg:pypi/networkx@3.0",
        "pkg:pypi/zipp@3.12.1",
        "pkg:pypi/iniconfig@2.0.0",
        "pkg:pypi/typing-extensions@4.4.0",
        "pkg:pypi/setuptools@51.3.3",
    }
    typing_ext = pkgs["pkg:pypi/typing-extensions@4.4.0"]
    assert typing_ext.name == "typing_extensions"
    assert typing_ext.type == "python"
    assert typing_ext.found_by == "python-installed"
    assert "source" not in typing_ext.properties
    assert typing_ext.locations[0].path == f"{SITE}/typing_extensions-4.4.0.dist-info/METADATA"
    assert typing_ext.locations[0].layer == 0
    assert typing_ext.introduced_in == 0
    # License-Expression wins, then License, then License classifiers
    assert pkgs["pkg:pypi/iniconfig@2.0.0"].licenses == ("MIT",)
    assert pkgs["pkg:pypi/asyncssh@2.14.2"].licenses == ("Eclipse Public License v2.0",)
    assert pkgs["pkg:pypi/zipp@3.12.1"].licenses == ("MIT License",)
    # "License: UNKNOWN" is ignored; the classifier after a folded Description is still read
    assert pkgs["pkg:pypi/setuptools@51.3.3"].licenses == ("MIT License",)
    assert pkgs["pkg:pypi/networkx@3.0"].licenses == ()


def test_egg_info_as_a_single_file() -> None:
    result = _run([kit.file(f"{SITE}/setuptools-51.3.3-py3.8.egg-info",
                            _fixture("egg-info/setuptools-51.3.3-py3.8.egg-info/PKG-INFO"))])
    assert [p.purl for p in result.packages] == ["pkg:pypi/setuptools@51.3.3"]


def test_poetry_lock() -> None:
    result = _run([kit.file("/app/poetry.lock", _fixture("poetry/poetry.lock"))])
    assert result.warnings == []
    assert len(result.packages) == 15
    pkgs = _by_purl(result)
    attrs = pkgs["pkg:pypi/attrs@25.1.0"]
    assert attrs.found_by == "python-lockfile"
    assert attrs.properties["source"] == "lockfile"
    assert attrs.type == "python"
    assert "pkg:pypi/atomicwrites@1.4.1" in pkgs
    assert "pkg:pypi/click@8.1.8" in pkgs


def test_uv_lock_skips_the_project_itself() -> None:
    result = _run([kit.file("/srv/app/uv.lock", _fixture("uv/uv.lock"))])
    assert len(result.packages) == 20
    names = {p.name for p in result.packages}
    assert "normal" not in names
    pkgs = _by_purl(result)
    assert "pkg:pypi/charset-normalizer@3.4.0" in pkgs
    assert "pkg:pypi/typing-extensions@4.12.2" in pkgs
    assert "pkg:pypi/requests@2.32.0" in pkgs


def test_pipfile_lock() -> None:
    result = _run([kit.file("/app/Pipfile.lock", _fixture("pipenv/Pipfile.lock"))])
    assert len(result.packages) == 24
    pkgs = _by_purl(result)
    assert "pkg:pypi/django@2.2" in pkgs
    assert "pkg:pypi/python-dateutil@2.8.0" in pkgs
    assert pkgs["pkg:pypi/urllib3@1.24.2"].version == "1.24.2"  # "==" stripped


def test_requirements_with_hashes() -> None:
    result = _run([kit.file("/app/requirements.txt",
                            _fixture("requirements/requirements_hash.txt"))])
    assert [(p.purl, p.locations[0].line) for p in result.packages] == [
        ("pkg:pypi/fooproject@1.2", 1),
        ("pkg:pypi/jinja2@3.0.0", 4),
    ]


def test_requirements_only_exact_pins() -> None:
    text = (
        "# comment\n"
        "requests==2.31.0 ; python_version > '3.8'\n"
        "-r base.txt\n"
        "--index-url https://example.invalid/simple\n"
        "flask>=2.0\n"
        "Django[argon2]==4.2.1  # pinned\n"
        "-e git+https://example.invalid/x.git#egg=x\n"
        "wild==1.*\n"
        "requests==2.31.0\n"
    )
    result = _run([kit.file("/app/requirements-prod.txt", text)])
    assert [p.purl for p in result.packages] == ["pkg:pypi/requests@2.31.0",
                                                 "pkg:pypi/django@4.2.1"]


def test_lock_files_inside_installed_packages_are_ignored() -> None:
    result = _run([
        kit.file(f"{SITE}/somepkg/requirements.txt", "six==1.16.0\n"),
        kit.file(f"{DIST}/other/poetry.lock", _fixture("poetry/poetry.lock")),
    ])
    assert result.packages == []


def test_package_in_second_layer_is_introduced_there() -> None:
    result = _run(
        [kit.file(f"{SITE}/zipp-3.12.1.dist-info/METADATA",
                  _fixture("dist-info/zipp-3.12.1.METADATA"))],
        [kit.file("/app/x.txt", "filler")],
        [kit.file("/app/poetry.lock", _fixture("poetry/poetry.lock"))],
    )
    pkgs = _by_purl(result)
    assert pkgs["pkg:pypi/zipp@3.12.1"].introduced_in == 0
    click = pkgs["pkg:pypi/click@8.1.8"]
    assert click.introduced_in == 2
    assert click.locations[0].layer == 2


def test_malformed_files_give_located_warnings() -> None:
    result = _run([kit.file("/app/x.txt", "filler")], [
        kit.file("/app/poetry.lock", "[[package]\nname = 'broken"),
        kit.file("/app/Pipfile.lock", "{not json"),
        kit.file(f"{SITE}/empty-1.0.dist-info/METADATA", "Summary: no name\n"),
        kit.file("/srv/uv.lock", _fixture("uv/uv.lock")),
    ])
    assert len(result.packages) == 20  # the good file is still read
    located = {(w.path, w.layer, w.analyzer) for w in result.warnings}
    assert located == {
        ("/app/poetry.lock", 1, "python"),
        ("/app/Pipfile.lock", 1, "python"),
        (f"{SITE}/empty-1.0.dist-info/METADATA", 1, "python"),
    }


def test_non_utf8_lock_file_is_a_warning() -> None:
    result = _run([kit.file("/app/poetry.lock", b"\xff\xfe[[package]]")])
    assert result.packages == []
    assert [w.path for w in result.warnings] == ["/app/poetry.lock"]


def test_zipped_egg_is_an_installed_package() -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("EGG-INFO/PKG-INFO",
                         "Metadata-Version: 1.1\nName: simplejson\nVersion: 3.19.1\nLicense: MIT License\n")
        archive.writestr("simplejson/__init__.py", "")
    egg = "usr/lib/python3/site-packages/simplejson-3.19.1-py3.11.egg"
    broken = "usr/lib/python3/site-packages/broken-1.0-py3.11.egg"
    result = _run([kit.file(egg, buf.getvalue()), kit.file(broken, b"not a zip")])
    assert [(p.name, p.version, p.purl, p.found_by) for p in result.packages] == [
        ("simplejson", "3.19.1", "pkg:pypi/simplejson@3.19.1", "python-installed")]
    assert [w.path for w in result.warnings] == ["/" + broken]
