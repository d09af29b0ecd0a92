"""A library the OS package manager installed is reported once, as the OS package."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.analyze.base import AnalysisResult
from portcullis.analyze.ownership import OS_TYPES, _owned, drop_os_owned
from portcullis.model.files import Location
from portcullis.model.package import Package
from portcullis.scan import ScanOptions, scan
from tests.images import kit
from tests.images.kit import Layer, directory, file, symlink
from tests.unit.layer_helpers import view_of

STATUS = """\
Package: python3-requests
Status: install ok installed
Architecture: all
Version: 2.28.1+dfsg-1
Source: requests

Package: node-lodash
Status: install ok installed
Architecture: all
Version: 4.17.21+dfsg+~cs8.31.198.20210220-9

"""

PKG_INFO = "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\n"
OWN_PKG_INFO = "/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO"


def _image(tmp_path: Path) -> str:
    base = Layer([
        file("etc/os-release", 'ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n'),
        directory("usr"), directory("usr/lib"), symlink("lib", "usr/lib"),
        file("var/lib/dpkg/status", STATUS),
        file("var/lib/dpkg/info/python3-requests.list", f"/.\n/usr\n{OWN_PKG_INFO}\n"),
        # merged /usr: dpkg's list names /lib/..., the file lives under /usr/lib/...
        file("var/lib/dpkg/info/node-lodash.list",
             "/.\n/lib/node_modules/lodash/package.json\n"),
        file(OWN_PKG_INFO.lstrip("/"), PKG_INFO),
        file("usr/lib/node_modules/lodash/package.json",
             '{"name": "lodash", "version": "4.17.21"}'),
    ])
    app = Layer([
        file("usr/local/lib/python3.11/dist-packages/requests-2.31.0.dist-info/METADATA",
             "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n"),
        file("app/node_modules/lodash/package.json", '{"name": "lodash", "version": "4.17.20"}'),
    ])
    kit.write_oci_layout(tmp_path / "img", kit.ImageSpec(layers=[base, app]), ref="t")
    return f"oci:{tmp_path / 'img'}:t"


def test_os_owned_language_packages_are_not_reported_twice(tmp_path: Path) -> None:
    report = scan(_image(tmp_path), ScanOptions(scanners=frozenset({"packages"})))
    found = sorted((p.type, p.name, p.version) for p in report.packages)
    assert found == [
        ("deb", "node-lodash", "4.17.21+dfsg+~cs8.31.198.20210220-9"),
        ("deb", "python3-requests", "2.28.1+dfsg-1"),
        ("npm", "lodash", "4.17.20"),
        ("python", "requests", "2.31.0"),
    ]
    app = {p.name: p for p in report.packages if p.type in ("npm", "python")}
    assert app["lodash"].introduced_in == 1 and app["requests"].introduced_in == 1


def test_table_lists_packages_by_type(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    result = run_cli("scan", _image(tmp_path), "--format", "table", "--scanners", "packages")
    assert result.returncode == 0, result.stderr
    # The Packages table: "type  count  layers" columns separated by spaces.
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] in ("deb", "npm", "python")}
    assert set(rows) == {"deb", "npm", "python"}
    assert rows["deb"][1] == "2"
    assert rows["npm"][2] == "1"
    assert "Packages (4)" in result.stdout


# --- only owned paths named like a language package's file are resolved -------------------

_DIRS = ["/usr/lib/x", "/lib/x", "/opt/y", "/loop/z", "/", "/usr/lib"]
_NAMES = ["package.json", "METADATA", "a", ""]
_VIEW = view_of([Layer([
    directory("usr"), directory("usr/lib"), directory("usr/lib/x"), symlink("lib", "usr/lib"),
    directory("opt"), directory("opt/y"), symlink("loop", "loop"),
])])


def _path(d: str, n: str) -> str:
    return d.rstrip("/") + "/" + n


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_DIRS), st.sampled_from(_NAMES)), max_size=8),
       st.lists(st.tuples(st.sampled_from(_DIRS), st.sampled_from(_NAMES),
                          st.sampled_from(["npm", "python", "deb"])), max_size=6))
def test_dropping_equals_matching_against_every_owned_path(
        owned: list[tuple[str, str]], found: list[tuple[str, str, str]]) -> None:
    """The filtered route drops exactly the packages the full owned set (every path resolved,
    names=None) would drop, on merged-/usr links, a symlink loop and odd names."""
    packages = [Package(name=f"p{i}", version="1", type=kind,
                        locations=(Location(path=_path(d, n)),))
                for i, (d, n, kind) in enumerate(found)]
    packages.append(Package(name="nowhere", version="1", type="npm"))
    by_analyzer = {"dpkg": frozenset(_path(d, n) for d, n in owned)}
    every = _owned(_VIEW, by_analyzer)
    expected = [p for p in packages if p.type not in OS_TYPES and p.locations
                and p.locations[0].path in every]
    result = AnalysisResult(packages=list(packages), owned_paths=by_analyzer)
    assert drop_os_owned(_VIEW, result) == expected
    assert result.packages == [p for p in packages if p not in expected]


def test_a_merged_usr_path_is_dropped_through_its_link() -> None:
    package = Package(name="lodash", version="1", type="npm",
                      locations=(Location(path="/usr/lib/x/package.json"),))
    result = AnalysisResult(packages=[package],
                            owned_paths={"dpkg": frozenset({"/lib/x/package.json", "/etc/a"})})
    assert drop_os_owned(_VIEW, result) == [package]
    assert result.packages == []
