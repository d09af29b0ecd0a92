"""Apk over real apk installed DBs (tests/data/pkgdb) placed at /lib/apk/db/installed.

Expected numbers were counted with grep/awk, not with the analyzer: alpine-3.18.0 has 15 ``P:``
and 15 ``V:`` lines (109 ``R:`` file lines, 2 of them musl's); alpine-3.16 14 and 14;
alpine-3.4-modified 16 ``P:`` but 15 ``V:`` (Trivy's ``invalidPackageWithoutAVersion`` at line
23 has none).
"""

from __future__ import annotations

import pytest

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisContext, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.os import apk
from portcullis.analyze.os.apk import Apk
from portcullis.model.distro import Distro
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIXTURES = DATA
PKGDB = FIXTURES / "pkgdb"

ALPINE_3_18 = Distro(family="alpine", name="Alpine Linux", version="3.18.0")
DB = "lib/apk/db/installed"


def _fixture(name: str) -> bytes:
    return read_fixture(PKGDB / name / DB)


def _ctx(distro: Distro | None) -> AnalysisContext:
    return analysis_context(distro)


def _run(*layers: list[kit.Entry], distro: Distro | None = ALPINE_3_18) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return Apk().analyze(view, _ctx(distro))


def _by_name(result: AnalysisResult) -> dict[str, Package]:
    return {p.name: p for p in result.packages}


CURL_RECORD = """\
C:Q1WTFU+AxEBoVEjg9SR5cl17ybZ40=
P:curl
V:8.1.2-r0
A:x86_64
S:227456
I:270336
T:URL retrival utility and library
U:https://curl.se/
L:curl
o:curl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1685539200
c:0123456789abcdef0123456789abcdef01234567
D:ca-certificates so:libc.musl-x86_64.so.1 so:libcurl.so.4 so:libz.so.1
p:cmd:curl=8.1.2-r0
F:usr
F:usr/bin
R:curl
a:0:0:755
Z:Q1WTFU+AxEBoVEjg9SR5cl17ybZ40=
"""


# --- discovery -------------------------------------------------------------------------------


def test_spec_and_discovery() -> None:
    spec = Apk.spec
    assert spec.name == "apk"
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert spec.paths == ("/lib/apk/db/installed",)
    assert isinstance(Apk(), TreeAnalyzer)
    assert Apk in analyzer_classes()


def test_no_database_no_packages() -> None:
    result = _run([kit.file("etc/alpine-release", "3.18.0\n")])
    assert result.packages == [] and result.warnings == []


# --- real DBs --------------------------------------------------------------------------------


def test_alpine_3_18() -> None:
    result = _run([kit.file(DB, _fixture("alpine-3.18.0"))])
    assert result.warnings == []
    assert len(result.packages) == 15
    assert [p.name for p in result.packages] == sorted(p.name for p in result.packages)
    pkgs = _by_name(result)
    musl = pkgs["musl"]
    assert musl.version == "1.2.4-r0"
    assert musl.type == "apk"
    assert musl.found_by == "apk"
    assert musl.licenses == ("MIT",)
    assert (musl.source_name, musl.source_version) == ("musl", "1.2.4-r0")
    assert musl.purl == "pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64&distro=alpine-3.18.0"
    assert musl.properties == {
        "arch": "x86_64", "maintainer": "Timo Teräs <timo.teras@iki.fi>",
        "build_time": "1682999359", "commit": "b0d8a9d948174e28a4aefcee4ef6be872225ccce",
        "files": "2",
    }
    assert musl.locations[0].path == "/lib/apk/db/installed"
    assert musl.locations[0].layer == 0
    assert musl.introduced_in == 0
    assert sum(int(p.properties["files"]) for p in result.packages) == 109

    assert pkgs["busybox"].version == "1.36.0-r9"
    assert pkgs["libcrypto3"].version == "3.1.0-r4"
    binsh = pkgs["busybox-binsh"]
    assert binsh.source_name == "busybox"
    assert binsh.purl == ("pkg:apk/alpine/busybox-binsh@1.36.0-r9?arch=x86_64"
                          "&distro=alpine-3.18.0&upstream=busybox")
    assert pkgs["musl-utils"].licenses == ("MIT", "BSD-2-Clause", "GPL-2.0-or-later")
    assert pkgs["ca-certificates-bundle"].licenses == ("MPL-2.0", "MIT")
    assert pkgs["zlib"].licenses == ("Zlib",)
    assert pkgs["alpine-baselayout"].licenses == ("GPL-2.0-only",)


def test_alpine_3_16_with_legacy_license_field() -> None:
    result = _run([kit.file(DB, _fixture("alpine-3.16"))],
                  distro=Distro(family="alpine", name="Alpine Linux", version="3.16.2"))
    assert result.warnings == []
    assert len(result.packages) == 14
    pkgs = _by_name(result)
    assert pkgs["musl"].version == "1.2.3-r0"
    assert pkgs["libssl1.1"].version == "1.1.1q-r0"
    assert pkgs["libssl1.1"].source_name == "openssl"
    assert pkgs["zlib"].version == "1.2.12-r3"
    assert pkgs["libssl1.1"].purl == ("pkg:apk/alpine/libssl1.1@1.1.1q-r0?arch=x86_64"
                                      "&distro=alpine-3.16.2&upstream=openssl")
    # the old space-separated form: one string per license, names as written
    assert pkgs["musl-utils"].licenses == ("MIT", "BSD", "GPL2+")


def test_alpine_3_4_modified_warns_and_keeps_going() -> None:
    result = _run([kit.file("etc/alpine-release", "3.4.6\n")],
                  [kit.file(DB, _fixture("alpine-3.4-modified"))])
    assert len(result.packages) == 15
    assert "invalidPackageWithoutAVersion" not in _by_name(result)
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert (warning.path, warning.layer, warning.analyzer) == ("/lib/apk/db/installed", 1, "apk")
    assert "invalidPackageWithoutAVersion" in warning.message
    assert "line 23" in warning.message
    pkgs = _by_name(result)
    assert pkgs["musl"].version == "1.1.14-r10"
    assert pkgs["libssl1.0"].version == "1.0.2h-r1"
    assert pkgs["ada-libs"].licenses == ("Apache-2.0 OR MIT", "MPL-2.0")
    assert pkgs["test"].source_name == "test-parent"
    assert all(p.introduced_in == 1 for p in result.packages)


# --- layers ----------------------------------------------------------------------------------


def test_three_layers_base_added_upgraded() -> None:
    base = _fixture("alpine-3.18.0").decode()
    added = base.rstrip("\n") + "\n\n" + CURL_RECORD
    upgraded = added.replace("P:musl\nV:1.2.4-r0", "P:musl\nV:1.2.4-r1")
    assert upgraded != added
    result = _run([kit.file(DB, base)], [kit.file(DB, added)], [kit.file(DB, upgraded)])
    assert result.warnings == []
    assert len(result.packages) == 16
    layers = {p.name: p.introduced_in for p in result.packages}
    assert layers["curl"] == 1
    assert layers["musl"] == 2
    assert _by_name(result)["musl"].version == "1.2.4-r1"
    assert layers["musl-utils"] == 0  # same version as before: untouched
    assert sum(1 for layer in layers.values() if layer == 0) == 14
    assert {p.locations[0].layer for p in result.packages} == {2}


# --- purls -----------------------------------------------------------------------------------


def test_wolfi_namespace() -> None:
    result = _run([kit.file(DB, _fixture("alpine-3.18.0"))],
                  distro=Distro(family="wolfi", name="Wolfi", version="20230201"))
    assert _by_name(result)["musl"].purl == (
        "pkg:apk/wolfi/musl@1.2.4-r0?arch=x86_64&distro=wolfi-20230201")


def test_unknown_distro_defaults_to_alpine_without_distro_qualifier() -> None:
    result = _run([kit.file(DB, _fixture("alpine-3.18.0"))], distro=None)
    assert _by_name(result)["musl"].purl == "pkg:apk/alpine/musl@1.2.4-r0?arch=x86_64"


# --- parsing details -------------------------------------------------------------------------


def test_owned_paths_are_files_not_directories() -> None:
    owned = _run([kit.file(DB, _fixture("alpine-3.18.0"))]).owned_paths["apk"]
    assert len(owned) == 109
    assert "/lib/ld-musl-x86_64.so.1" in owned
    assert "/bin/busybox" in owned
    assert "/lib" not in owned


def test_crlf_and_garbage_do_not_crash() -> None:
    data = (b"\xff\xfe garbage line\r\nP:one\r\nV:1.0-r0\r\nA:x86_64\r\n\r\n"
            b"V:2.0-r0\r\n\r\n\r\nnot-a-field\r\nP:two\r\nV:2.0-r0\r\n")
    result = _run([kit.file(DB, data)], distro=None)
    assert [(p.name, p.version) for p in result.packages] == [("one", "1.0-r0"),
                                                             ("two", "2.0-r0")]
    assert len(result.warnings) == 1
    assert "P (name)" in result.warnings[0].message


@pytest.mark.parametrize(("text", "licenses"), [
    ("MIT", ("MIT",)),
    ("GPL-2.0-only", ("GPL-2.0-only",)),
    ("MIT BSD-2-Clause", ("MIT", "BSD-2-Clause")),
    ("MPL-2.0 AND MIT", ("MPL-2.0", "MIT")),
    ("MIT OR Apache-2.0", ("MIT OR Apache-2.0",)),
    ("( Apache-2.0 OR MIT ) AND MPL-2.0", ("Apache-2.0 OR MIT", "MPL-2.0")),
    ("GPL-2.0-or-later WITH Linux-syscall-note AND MIT",
     ("GPL-2.0-or-later WITH Linux-syscall-note", "MIT")),
    ("(MIT AND BSD-3-Clause) AND Zlib", ("MIT", "BSD-3-Clause", "Zlib")),
    ("MIT and (BSD or ISC)", ("MIT", "BSD OR ISC")),
    ("MIT MIT", ("MIT",)),
    ("", ()),
    ("( unbalanced", ("unbalanced",)),
])
def test_split_licenses(text: str, licenses: tuple[str, ...]) -> None:
    assert apk.split_licenses(text) == licenses
