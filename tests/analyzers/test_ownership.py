"""A library the OS package manager installed is reported once, as the OS package."""

from __future__ import annotations

from pathlib import Path

from portcullis.scan import ScanOptions, scan
from tests.images import kit
from tests.images.kit import Layer, directory, file, symlink

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
