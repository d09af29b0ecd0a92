"""Dpkg over real dpkg databases (tests/data/pkgdb) placed at their image paths.

Expected numbers were counted with grep/awk, not with the analyzer: debian-12-excerpt has 7
``Package:`` stanzas, all ``Status: install ok installed``; ubuntu-18.04-texlive 357 (all
installed; 288 carry a ``Source:`` naming another package, 5 of them with a version, 68 are
``Architecture: all``); dpkg-excerpts/postgresql.status 3; coreutils-relationships.status 9.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisContext, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.os import dpkg
from portcullis.analyze.os.dpkg import Dpkg
from portcullis.model.distro import Distro
from portcullis.model.package import Package
from tests.conftest import run_cli
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

FIXTURES = DATA
PKGDB = FIXTURES / "pkgdb"

DEBIAN_12 = Distro(family="debian", name="Debian GNU/Linux", version="12",
                   version_codename="bookworm")
UBUNTU_1804 = Distro(family="ubuntu", name="Ubuntu", version="18.04",
                     version_codename="bionic")

STATUS = "var/lib/dpkg/status"


def _fixture(rel: str) -> bytes:
    return read_fixture(PKGDB / rel)


def _ctx(distro: Distro | None = DEBIAN_12) -> AnalysisContext:
    return analysis_context(distro)


def _run(*layers: list[kit.Entry], distro: Distro | None = DEBIAN_12) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return Dpkg().analyze(view, _ctx(distro))


def _by_name(result: AnalysisResult) -> dict[str, Package]:
    return {p.name: p for p in result.packages}


def _stanza(name: str, version: str, *, status: str | None = "install ok installed",
            arch: str = "amd64", source: str | None = None) -> str:
    lines = [f"Package: {name}"]
    if status is not None:
        lines.append(f"Status: {status}")
    lines += ["Priority: optional", "Maintainer: Someone <someone@example.org>",
              f"Architecture: {arch}"]
    if source:
        lines.append(f"Source: {source}")
    lines += [f"Version: {version}", f"Description: {name}", " A test package.", " ."]
    return "\n".join(lines) + "\n"


# --- discovery -------------------------------------------------------------------------------


def test_spec_and_discovery() -> None:
    spec = Dpkg.spec
    assert spec.name == "dpkg"
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert "/var/lib/dpkg/status.d/*" in spec.paths
    assert "/usr/share/doc/*/copyright" in spec.paths
    assert isinstance(Dpkg(), TreeAnalyzer)
    assert Dpkg in analyzer_classes()


def test_no_database_no_packages() -> None:
    result = _run([kit.file("etc/hostname", "box\n")])
    assert result.packages == [] and result.warnings == []


# --- real status files -----------------------------------------------------------------------


def test_debian_12_excerpt() -> None:
    result = _run([kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status"))])
    assert result.warnings == []
    assert len(result.packages) == 7
    pkgs = _by_name(result)
    acl = pkgs["acl"]
    assert acl.version == "2.3.1-3"
    assert acl.type == "deb"
    assert acl.found_by == "dpkg"
    assert acl.source_name == "acl" and acl.source_version == "2.3.1-3"
    assert acl.purl == "pkg:deb/debian/acl@2.3.1-3?arch=amd64&distro=debian-12"
    assert acl.properties["maintainer"] == "Guillem Jover <guillem@debian.org>"
    assert acl.properties["arch"] == "amd64"
    assert "files" not in acl.properties  # no info/acl.list in this image
    assert acl.locations[0].path == "/var/lib/dpkg/status"
    assert acl.locations[0].layer == 0
    assert acl.locations[0].line == 19
    assert acl.introduced_in == 0

    extra = pkgs["util-linux-extra"]
    assert extra.version == "2.38.1-5+b1"
    assert extra.source_name == "util-linux"
    assert extra.source_version == "2.38.1-5"
    assert extra.purl == ("pkg:deb/debian/util-linux-extra@2.38.1-5%2Bb1?arch=amd64"
                          "&distro=debian-12&upstream=util-linux%402.38.1-5")

    libacl = pkgs["libacl1"]
    assert (libacl.source_name, libacl.source_version) == ("acl", "2.3.1-3")
    assert libacl.purl == "pkg:deb/debian/libacl1@2.3.1-3?arch=amd64&distro=debian-12&upstream=acl"
    assert pkgs["attr"].version == "1:2.5.1-4"  # the epoch is part of the version
    assert pkgs["attr"].purl == "pkg:deb/debian/attr@1:2.5.1-4?arch=amd64&distro=debian-12"
    assert pkgs["adduser"].purl == "pkg:deb/debian/adduser@3.131?arch=all&distro=debian-12"


def test_packages_are_sorted() -> None:
    result = _run([kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status"))])
    assert [p.name for p in result.packages] == sorted(p.name for p in result.packages)


def test_ubuntu_texlive_full_status() -> None:
    result = _run([kit.file(STATUS, _fixture("ubuntu-18.04-texlive/var/lib/dpkg/status"))],
                  distro=UBUNTU_1804)
    assert result.warnings == []
    assert len(result.packages) == 357
    assert len({(p.name, p.version, p.properties["arch"]) for p in result.packages}) == 357
    assert sum(p.source_name != p.name for p in result.packages) == 288
    assert sum(p.properties["arch"] == "all" for p in result.packages) == 68
    pkgs = _by_name(result)
    assert pkgs["base-files"].version == "10.1ubuntu2.8"
    libc = pkgs["libc6"]
    assert (libc.version, libc.source_name, libc.source_version) == (
        "2.27-3ubuntu1", "glibc", "2.27-3ubuntu1")
    assert libc.purl == ("pkg:deb/ubuntu/libc6@2.27-3ubuntu1?arch=amd64&distro=ubuntu-18.04"
                         "&upstream=glibc")
    bsdutils = pkgs["bsdutils"]
    # the binary carries an epoch the source version does not
    assert bsdutils.version == "1:2.31.1-0.4ubuntu3.6"
    assert (bsdutils.source_name, bsdutils.source_version) == (
        "util-linux", "2.31.1-0.4ubuntu3.6")
    assert pkgs["g++"].purl == (
        "pkg:deb/ubuntu/g%2B%2B@4:7.4.0-1ubuntu2.3?arch=amd64&distro=ubuntu-18.04"
        "&upstream=gcc-defaults%401.176ubuntu2.3")
    assert all(p.purl and p.purl.startswith("pkg:deb/ubuntu/") for p in result.packages)


@pytest.mark.parametrize(("name", "count"), [("postgresql.status", 3),
                                             ("coreutils-relationships.status", 9)])
def test_dpkg_excerpts(name: str, count: int) -> None:
    result = _run([kit.file(STATUS, _fixture(f"dpkg-excerpts/{name}"))])
    assert result.warnings == []
    assert len(result.packages) == count


def test_unknown_distro_defaults_to_debian_namespace() -> None:
    result = _run([kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status"))],
                  distro=None)
    assert _by_name(result)["acl"].purl == "pkg:deb/debian/acl@2.3.1-3?arch=amd64"


# --- distroless status.d ---------------------------------------------------------------------


def test_distroless_status_d() -> None:
    base = "distroless-debian/var/lib/dpkg/status.d"
    result = _run([
        kit.file("var/lib/dpkg/status.d/libsqlite3-0", _fixture(f"{base}/libsqlite3-0")),
        kit.file("var/lib/dpkg/status.d/libsqlite3-0.md5sums",
                 _fixture(f"{base}/libsqlite3-0.md5sums")),
    ], distro=Distro(family="debian", name="Debian GNU/Linux", version="11"))
    assert result.warnings == []
    assert len(result.packages) == 1  # the .md5sums file is not a DB
    sqlite = result.packages[0]
    assert (sqlite.name, sqlite.version) == ("libsqlite3-0", "3.34.1-3")
    assert (sqlite.source_name, sqlite.source_version) == ("sqlite3", "3.34.1-3")
    assert sqlite.properties["arch"] == "arm64"
    assert sqlite.properties["files"] == "6"  # lines of the md5sums companion
    assert sqlite.locations[0].path == "/var/lib/dpkg/status.d/libsqlite3-0"
    assert sqlite.purl == ("pkg:deb/debian/libsqlite3-0@3.34.1-3?arch=arm64&distro=debian-11"
                           "&upstream=sqlite3")
    assert sqlite.introduced_in == 0


def test_status_d_entry_added_in_a_later_layer() -> None:
    base = "distroless-debian/var/lib/dpkg/status.d"
    result = _run(
        [kit.file("var/lib/dpkg/status.d/base-files", _stanza("base-files", "11.1+deb11u8",
                                                               status=None))],
        [kit.file("var/lib/dpkg/status.d/libsqlite3-0", _fixture(f"{base}/libsqlite3-0"))],
    )
    layers = {p.name: (p.introduced_in, p.locations[0].layer) for p in result.packages}
    assert layers == {"base-files": (0, 0), "libsqlite3-0": (1, 1)}


# --- layers ----------------------------------------------------------------------------------


def test_three_layers_base_added_upgraded() -> None:
    base = _fixture("debian-12-excerpt/var/lib/dpkg/status").decode().rstrip("\n") + "\n\n"
    added = base + _fixture("dpkg-excerpts/postgresql.status").decode()
    upgraded = added.replace("Version: 2.3.1-3\nDepends: libacl1",
                             "Version: 2.3.1-4\nDepends: libacl1")
    assert upgraded != added
    result = _run([kit.file(STATUS, base)], [kit.file(STATUS, added)],
                  [kit.file(STATUS, upgraded)])
    assert result.warnings == []
    assert len(result.packages) == 7 + 3
    layers = {p.name: p.introduced_in for p in result.packages}
    postgres = {p.name for p in result.packages} - set(_by_name(_run([kit.file(STATUS, base)])))
    assert len(postgres) == 3
    assert all(layers[name] == 1 for name in postgres)
    assert layers["acl"] == 2
    assert _by_name(result)["acl"].version == "2.3.1-4"
    assert layers["libacl1"] == 0
    assert layers["util-linux-extra"] == 0
    # every package is located in the DB version that lists it now: the top layer's
    assert {p.locations[0].layer for p in result.packages} == {2}


# --- status handling -------------------------------------------------------------------------


def test_only_installed_entries_count() -> None:
    status = "\n".join([
        _stanza("kept", "1.0-1"),
        _stanza("held", "2.0-1", status="hold ok installed"),
        _stanza("removed", "1.0-1", status="deinstall ok config-files"),
        _stanza("purged", "1.0-1", status="purge ok not-installed"),
        _stanza("trigger", "3.0-1", status="install ok triggers-pending"),
        _stanza("nostatus", "1.0-1", status=None),  # main DB: dpkg would not call it installed
    ])
    result = _run([kit.file(STATUS, status)])
    assert sorted(p.name for p in result.packages) == ["held", "kept", "trigger"]
    assert result.warnings == []


def test_installed_entry_without_version_is_a_located_warning() -> None:
    status = _stanza("good", "1.0") + "\n" + "Package: broken\nStatus: install ok installed\n"
    result = _run([kit.file("etc/placeholder", "x")], [kit.file(STATUS, status)])
    assert [p.name for p in result.packages] == ["good"]
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert (warning.path, warning.layer, warning.analyzer) == ("/var/lib/dpkg/status", 1, "dpkg")
    assert "Version" in warning.message


def test_garbage_does_not_crash() -> None:
    junk = b"\x00\xff\xfe not a control file\n: no key\n continuation without field\n\n\n"
    result = _run([kit.file(STATUS, junk + _stanza("ok", "1").encode())])
    assert [p.name for p in result.packages] == ["ok"]


def test_multiarch_same_package_twice() -> None:
    status = _stanza("libc6", "2.36-9", arch="amd64") + "\n" + _stanza("libc6", "2.36-9",
                                                                        arch="i386")
    result = _run([kit.file(STATUS, status)])
    assert sorted(p.purl or "" for p in result.packages) == [
        "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12",
        "pkg:deb/debian/libc6@2.36-9?arch=i386&distro=debian-12",
    ]


# --- installed files -------------------------------------------------------------------------

ACL_LIST = """/.
/bin
/bin/chacl
/bin/getfacl
/bin/setfacl
/usr
/usr/share
/usr/share/doc
/usr/share/doc/acl
/usr/share/doc/acl/copyright
"""


def test_files_from_list_leave_out_directories() -> None:
    result = _run([
        kit.directory("bin"), kit.directory("usr"), kit.directory("usr/share"),
        kit.directory("usr/share/doc"), kit.directory("usr/share/doc/acl"),
        kit.file("bin/chacl", b"\x7fELF", mode=0o755),
        kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status")),
        kit.file("var/lib/dpkg/info/acl.list", ACL_LIST),
        kit.file("var/lib/dpkg/info/libacl1:amd64.md5sums",
                 "0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libacl.so.1.1.2301\n"),
    ])
    pkgs = _by_name(result)
    # /bin/getfacl etc. are listed but missing from this view: still owned by acl
    assert pkgs["acl"].properties["files"] == "4"
    assert pkgs["libacl1"].properties["files"] == "1"  # multiarch name, md5sums fallback
    owned = _run([
        kit.directory("bin"),
        kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status")),
        kit.file("var/lib/dpkg/info/acl.list", ACL_LIST),
    ]).owned_paths["dpkg"]
    assert "/bin/getfacl" in owned and "/usr/share/doc/acl/copyright" in owned
    assert "/bin" not in owned and "/." not in owned


def test_owned_paths_ignore_removed_packages() -> None:
    status = _stanza("gone", "1", status="deinstall ok config-files")
    result = _run([kit.file(STATUS, status),
                   kit.file("var/lib/dpkg/info/gone.list", "/etc/gone.conf\n")])
    assert result.owned_paths["dpkg"] == frozenset()


# --- licenses --------------------------------------------------------------------------------

# Shaped like the real /usr/share/doc/acl/copyright of Debian 12 (DEP-5).
ACL_COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: acl
Source: https://savannah.nongnu.org/projects/acl/

Files: *
Copyright: 1999-2014 Andreas Gruenbacher <agruenba@redhat.com>
           2000-2014 Silicon Graphics, Inc.
License: GPL-2+

Files: libacl/* include/*
Copyright: 2000-2014 Silicon Graphics, Inc.
License: LGPL-2.1+

Files: debian/*
Copyright: 2009-2022 Guillem Jover <guillem@debian.org>
License: GPL-2+ or BSD-3-clause, and Expat

Files: doc/extensions.txt
Copyright: none
License: public-domain
 The author dedicated this file to the public domain.

License: GPL-2+
 This program is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License as published by
 the Free Software Foundation; either version 2 of the License, or
 (at your option) any later version.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in "/usr/share/common-licenses/GPL-2".

License: LGPL-2.1+
 On Debian systems, the complete text of the GNU Lesser General Public
 License can be found in "/usr/share/common-licenses/LGPL-2.1".
"""

# Shaped like a pre-DEP-5 copyright file (free text).
ATTR_COPYRIGHT = """\
This package was debianized by Nathan Scott nathans@debian.org on
Sat, 27 Jan 2001 16:49:04 +1100

Copyright:

Copyright (C) 2000-2002 Silicon Graphics, Inc.  All Rights Reserved.

License:

Source and binary are licensed under the GNU General Public License as
published by the Free Software Foundation; either version 2 of the License,
or (at your option) any later version.

On Debian systems, refer to /usr/share/common-licenses/GPL-2
for the complete text of the GNU General Public License.

The library is licensed under the GNU Lesser General Public License,
version 2.1 only. On Debian systems, refer to /usr/share/common-licenses/LGPL-2.1.

The getfattr manual page is under the BSD license, see
/usr/share/common-licenses/BSD. Some scripts are licensed like Perl
itself; see /usr/share/common-licenses/Artistic.
"""


def test_licenses_from_copyright_files() -> None:
    result = _run([
        kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status")),
        kit.file("usr/share/doc/acl/copyright", ACL_COPYRIGHT),
        kit.symlink("usr/share/doc/libacl1", "acl"),  # doc dirs are often links
        kit.file("usr/share/doc/attr/copyright", ATTR_COPYRIGHT),
    ])
    pkgs = _by_name(result)
    assert pkgs["acl"].licenses == ("BSD-3-Clause", "GPL-2.0-or-later", "LGPL-2.1-or-later",
                                    "LicenseRef-public-domain", "MIT")
    assert pkgs["libacl1"].licenses == pkgs["acl"].licenses
    assert pkgs["attr"].licenses == ("Artistic-1.0-Perl", "BSD-3-Clause", "GPL-2.0-or-later",
                                     "LGPL-2.1-only")
    assert pkgs["adduser"].licenses == ()  # no copyright file


def test_copies_of_one_copyright_file_give_each_package_its_licenses() -> None:
    """Binary packages of one source ship the same copyright text at their own paths (read
    once per content): each still gets the licenses of its own file."""
    result = _run([
        kit.file(STATUS, _fixture("debian-12-excerpt/var/lib/dpkg/status")),
        kit.file("usr/share/doc/acl/copyright", ACL_COPYRIGHT),
        kit.file("usr/share/doc/libacl1/copyright", ACL_COPYRIGHT),  # a copy, not a link
        kit.file("usr/share/doc/attr/copyright", ATTR_COPYRIGHT),
        kit.file("usr/share/doc/adduser/copyright", ACL_COPYRIGHT + "\n"),  # not a copy
    ])
    pkgs = _by_name(result)
    assert pkgs["libacl1"].licenses == pkgs["acl"].licenses == pkgs["adduser"].licenses
    assert pkgs["acl"].licenses == dpkg.copyright_licenses(ACL_COPYRIGHT.encode())
    assert pkgs["attr"].licenses == dpkg.copyright_licenses(ATTR_COPYRIGHT.encode())
    assert pkgs["attr"].licenses != pkgs["acl"].licenses


# Shaped like Debian 12's libsemanage2 copyright: the unversioned GPL/LGPL links, with the
# version stated in the text before each.
SEMANAGE_COPYRIGHT = b"""\
libsemanage is Copyright 2004-2007 Tresys Technology, LLC

    This library is free software; you can redistribute it and/or
    modify it under the terms of the GNU Lesser General Public
    License as published by the Free Software Foundation; either
    version 2.1 of the License, or (at your option) any later version.

On Debian GNU/Linux systems, the complete text of the Lesser GNU General
Public License can be found in `/usr/share/common-licenses/LGPL'.

The Debian specific changes are distributed under the terms of the GNU
General Public License, version 2.

On Debian GNU/Linux systems, the complete text of the GNU General
Public License can be found in `/usr/share/common-licenses/GPL'.
"""


def test_unversioned_common_license_links_take_the_stated_version() -> None:
    assert dpkg.copyright_licenses(SEMANAGE_COPYRIGHT) == ("GPL-2.0-only", "LGPL-2.1-or-later")
    unstated = b"Covered by the GNU GPL, see /usr/share/common-licenses/GPL.\n"
    assert dpkg.copyright_licenses(unstated) == ()


def test_dep5_and_or_expressions_are_split() -> None:
    text = (b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            b"Files: *\nCopyright: 2010 X\nLicense: ISC and/or LGPL-2.1+\n\n"
            b"Files: b/*\nCopyright: 2010 Y\nLicense: GPL-2+ | MIT\n")
    assert dpkg.copyright_licenses(text) == ("GPL-2.0-or-later", "ISC", "LGPL-2.1-or-later",
                                             "MIT")


def test_free_text_without_common_license_reference_claims_nothing() -> None:
    text = b"Copyright 2020 Somebody.\nPermission is hereby granted, free of charge, ...\n"
    assert dpkg.copyright_licenses(text) == ()


def test_old_dep5_format_url_and_unknown_names_kept() -> None:
    text = (b"Format: http://dep.debian.net/deps/dep5\n\n"
            b"Files: *\nCopyright: 2010 X\nLicense: GPL-2+ with OpenSSL exception\n\n"
            b"Files: extra/*\nCopyright: 2010 Y\nLicense: other\n")
    assert dpkg.copyright_licenses(text) == ("GPL-2+ with OpenSSL exception", "other")


# --- the whole CLI ---------------------------------------------------------------------------

DEBIAN_OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""


def test_cli_reports_dpkg_packages(tmp_path: Path) -> None:
    status = _fixture("debian-12-excerpt/var/lib/dpkg/status")
    spec = kit.ImageSpec(layers=[
        kit.Layer([kit.directory("etc"), kit.file("etc/os-release", DEBIAN_OS_RELEASE),
                   kit.file(STATUS, status),
                   kit.file("usr/share/doc/acl/copyright", ACL_COPYRIGHT)]),
        kit.Layer([kit.file(STATUS, status.decode().rstrip("\n") + "\n\n"
                            + _stanza("curl", "7.88.1-10+deb12u5"))]),
    ])
    layout = kit.write_oci_layout(tmp_path / "oci", spec)
    proc = run_cli("scan", f"oci:{layout}:latest", "--format", "json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["scanners"]["packages"]["status"] == "ok"
    assert report["artifact"]["os"]["family"] == "debian"
    packages = {p["name"]: p for p in report["packages"] if p["type"] == "deb"}
    assert len(packages) == 8
    assert packages["acl"] == {
        "name": "acl", "version": "2.3.1-3", "type": "deb",
        "purl": "pkg:deb/debian/acl@2.3.1-3?arch=amd64&distro=debian-12",
        "source_name": "acl",
        "licenses": ["BSD-3-Clause", "GPL-2.0-or-later", "LGPL-2.1-or-later",
                     "LicenseRef-public-domain", "MIT"],
        "path": "/var/lib/dpkg/status", "layer": 0, "declared": False, "from_base_image": None,
    }
    assert packages["curl"]["layer"] == 1
    assert packages["curl"]["purl"] == ("pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64"
                                        "&distro=debian-12")
    assert packages["util-linux-extra"]["source_name"] == "util-linux"
