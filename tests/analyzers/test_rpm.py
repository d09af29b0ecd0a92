"""The rpm analyzer and its pure-Python rpmdb readers, over real databases.

Expected values were taken independently of this code, with real rpm binaries run on copies
of the fixtures (exploration only; nothing here runs rpm):

- cbl-mariner-2.0 rpmdb.sqlite (SQLite): 129 packages. ``SELECT count(*) FROM Packages`` (sqlite3
  CLI) = 129; Debian 12 rpm 4.18 ``rpm --dbpath D -qa`` lists 129, 7269 file paths in all
  (``-qa --qf '[%{FILENAMES}\\n]'``), filesystem 118, bash 67.
- sles-15-bci Packages.db (NDB): 35 packages, 2837 file paths, filesystem 788 (rpm 4.16.1.3
  from the PyPI wheel rpm-inspector-rpm: Debian's rpm has no NDB backend).
- rpm-bdb-* Packages (Berkeley DB): one package each (rpm 4.18 ``--define '_db_backend bdb_ro'``;
  ``db_dump`` shows 2 keys: the package and rpm's key-0 counter record).

For every fixture, every field the readers return (name, epoch, version, release, arch,
SOURCERPM, LICENSE, VENDOR, LONGSIZE, MODULARITYLABEL, FILEDIGESTALGO and the full file list)
was compared with rpm's ``--qf`` output: identical, except that an empty VENDOR reads as None.
data/rpm/ holds one package set in SQLite, NDB and Berkeley DB (both byte orders): see its
README.md.
"""

from __future__ import annotations

import random
import sqlite3
import struct
from pathlib import Path

import pytest

from portcullis.analyze.base import STAGE_INVENTORY, AnalysisResult, TreeAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.os.rpm import Rpm, read_manifest, source_name_version
from portcullis.analyze.os.rpmdb import (
    Header,
    HeaderError,
    RpmdbError,
    RpmPackage,
    detect_format,
    read_database,
    read_keys,
)
from portcullis.analyze.os.rpmdb import header as tags
from portcullis.model.distro import Distro
from portcullis.model.package import Package
from tests.fixtures import DATA, read_fixture
from tests.images import kit
from tests.unit.layer_helpers import analysis_context, view_of

# tests/data/pkgdb (origins in tests/data/SOURCES.md)
FIX = DATA / "pkgdb"
DATA = Path(__file__).parent / "data" / "rpm"
MARINER = "cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite"
SLES = "sles-15-bci/var/lib/rpm/Packages.db"
DIVE = "rpm-bdb-centos8-dive/var/lib/rpm/Packages"
EPOCH = "rpm-bdb-epoch/var/lib/rpm/Packages"
LIBUUID = "rpm-bdb-libuuid/var/lib/rpm/Packages"
MANIFEST = "cbl-mariner-2.0-distroless/var/lib/rpmmanifest/container-manifest-2"

SAME_SET = {
    "sqlite": DATA / "sqlite" / "rpmdb.sqlite",
    "ndb": DATA / "ndb" / "Packages.db",
    "bdb": DATA / "bdb" / "Packages",
    "bdb-be": DATA / "bdb-be" / "Packages",
}


def _fixture(rel: str) -> bytes:
    return read_fixture(FIX / rel)


MARINER_DISTRO = Distro(family="mariner", name="CBL-Mariner", version="2.0")
SUSE_DISTRO = Distro(family="suse", name="SLES", version="15.3")


def _run(*layers: list[kit.Entry], distro: Distro | None = None) -> AnalysisResult:
    view = view_of([kit.Layer(list(entries)) for entries in layers])
    return Rpm().analyze(view, analysis_context(distro))


def _by_name(result: AnalysisResult) -> dict[str, Package]:
    return {p.name: p for p in result.packages}


def _nevra(packages: tuple[RpmPackage, ...] | list[RpmPackage]) -> list[tuple[object, ...]]:
    return sorted((p.name, p.epoch, p.version, p.release, p.arch) for p in packages)


def _blobs(path: Path) -> list[bytes]:
    """The header blobs of an SQLite rpmdb, read with sqlite3 itself (immutable: the WAL-mode
    file must not grow -wal/-shm files beside it)."""
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as conn:
        rows = conn.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    return [bytes(row[0]) for row in rows]


def _sqlite_db(blobs: list[bytes]) -> bytes:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, "
                 "blob BLOB NOT NULL)")
    conn.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs])
    conn.commit()
    data = conn.serialize()
    conn.close()
    return data


def _header(entries: list[tuple[int, int, object]]) -> bytes:
    """A header blob from (tag, type, value) triples, aligned as rpm aligns them."""
    index: list[bytes] = []
    store = bytearray()
    for tag, kind, value in entries:
        align = {tags.INT16: 2, tags.INT32: 4, tags.INT64: 8}.get(kind, 1)
        store.extend(b"\0" * (-len(store) % align))
        offset = len(store)
        if kind == tags.STRING:
            assert isinstance(value, str)
            store += value.encode() + b"\0"
            count = 1
        elif kind in (tags.STRING_ARRAY, tags.I18NSTRING):
            assert isinstance(value, list)
            for item in value:
                store += item.encode() + b"\0"
            count = len(value)
        elif kind == tags.INT32:
            assert isinstance(value, list)
            store += struct.pack(f">{len(value)}I", *value)
            count = len(value)
        else:
            raise AssertionError(kind)
        index.append(struct.pack(">IIII", tag, kind, offset, count))
    return struct.pack(">II", len(entries), len(store)) + b"".join(index) + bytes(store)


# --- the readers on real databases -------------------------------------------------------------


def test_sqlite_mariner() -> None:
    db = read_database(_fixture(MARINER))
    assert db.format == "sqlite"
    assert db.problems == ()
    assert len(db.packages) == 129
    by_name = {p.name: p for p in db.packages}
    assert by_name["mariner-release"].key == ("mariner-release", None, "2.0", "4.cm2", "noarch")
    assert by_name["openssl"].key == ("openssl", None, "1.1.1k", "7.cm2", "x86_64")
    assert by_name["rpm"].license == "GPLv2+ AND LGPLv2+ AND BSD"
    tools = by_name["ca-certificates-tools"]
    assert tools.key == ("ca-certificates-tools", 1, "2.0.0", "1.cm2", "noarch")
    assert tools.evr == "1:2.0.0-1.cm2"
    assert tools.source_rpm == "ca-certificates-2.0.0-1.cm2.src.rpm"
    assert tools.vendor == "Microsoft Corporation"
    assert tools.size == 5204
    bash = by_name["bash"]
    assert bash.size == 3565139
    assert bash.digest_algorithm == "sha256"
    assert len(bash.files) == 67
    assert "/bin/bash" in bash.files
    assert len(by_name["filesystem"].files) == 118
    assert by_name["filesystem"].files[:2] == ("/bin", "/boot")
    assert sum(len(p.files) for p in db.packages) == 7269


def test_ndb_sles() -> None:
    db = read_database(_fixture(SLES))
    assert db.format == "ndb"
    assert db.problems == ()
    assert len(db.packages) == 35
    by_name = {p.name: p for p in db.packages}
    assert by_name["system-user-root"].key == ("system-user-root", None, "20190513", "3.3.1",
                                               "noarch")
    glibc = by_name["glibc"]
    assert glibc.key == ("glibc", None, "2.31", "9.3.2", "x86_64")
    assert glibc.license == ("LGPL-2.1-or-later AND LGPL-2.1-or-later WITH GCC-exception-2.0 "
                             "AND GPL-2.0-or-later")
    assert glibc.vendor == "SUSE LLC <https://www.suse.com/>"
    assert glibc.size == 6183407
    assert by_name["bash"].key == ("bash", None, "4.4", "19.6.1", "x86_64")
    assert len(by_name["filesystem"].files) == 788
    assert sum(len(p.files) for p in db.packages) == 2837


def test_bdb_fixtures() -> None:
    dive = read_database(_fixture(DIVE))
    assert dive.format == "bdb"
    assert [(p.key, p.license, p.vendor, p.files) for p in dive.packages] == [
        (("dive", None, "0.9.2", "1", "x86_64"), "MIT", None, ("/usr/local/bin/dive",))
    ]
    uuid = read_database(_fixture(LIBUUID))
    assert uuid.problems == ()
    (package,) = uuid.packages
    assert package.key == ("libuuid", None, "2.32.1", "42.el8_8", "x86_64")
    assert package.source_rpm == "util-linux-2.32.1-42.el8_8.src.rpm"
    assert (package.license, package.vendor) == ("BSD", "Red Hat, Inc.")
    assert package.digest_algorithm == "sha256"
    assert package.files == (
        "/usr/lib/.build-id",
        "/usr/lib/.build-id/df/ef6a880adac817216ab9866779a0725e017647",
        "/usr/lib64/libuuid.so.1",
        "/usr/lib64/libuuid.so.1.3.0",
        "/usr/share/licenses/libuuid",
        "/usr/share/licenses/libuuid/COPYING",
        "/usr/share/licenses/libuuid/COPYING.BSD-3",
    )


def test_epoch() -> None:
    db = read_database(_fixture(EPOCH))
    (hello,) = db.packages
    assert hello.key == ("hello", 1, "0.0.1", "rls", "x86_64")
    assert hello.evr == "1:0.0.1-rls"
    assert hello.files == ("/usr/bin/hello.sh",)
    assert read_keys(_fixture(EPOCH)) == [("hello", 1, "0.0.1", "rls", "x86_64")]


EXPECTED_SET = [
    # name, epoch, version, release, arch, license, vendor, modularity label, files
    ("alpha", None, "1.0", "1", "noarch", "MIT", "Portcullis Test", None,
     ("/usr/share/alpha/README", "/usr/share/alpha/data.txt")),
    ("beta", 2, "2.5.1", "3.el9", "x86_64", "GPL-2.0-or-later AND (MIT OR BSD-3-Clause)",
     "Portcullis Test", None,
     ("/usr/bin/beta", "/usr/lib64/beta", "/usr/lib64/beta/beta.conf",
      "/usr/lib64/beta/libbeta.so.1")),
    ("delta", None, "3", "0", "noarch", "Public Domain", None, None, ()),
    ("gamma", None, "0.9", "7.module+el8.4.0+1234+abcdef12", "x86_64", "BSD-3-Clause",
     "Portcullis Test", "gamma:0.9:8040020210101000000:abcdef12", ("/usr/bin/gamma",)),
    ("gamma-libs", None, "0.9", "7.module+el8.4.0+1234+abcdef12", "x86_64", "BSD-3-Clause",
     "Portcullis Test", "gamma:0.9:8040020210101000000:abcdef12", ("/usr/lib64/libgamma.so.0",)),
]


@pytest.mark.parametrize("kind", sorted(SAME_SET))
def test_same_set_each_format(kind: str) -> None:
    db = read_database(SAME_SET[kind].read_bytes())
    assert db.format == kind.removesuffix("-be")
    assert db.problems == ()
    got = sorted((p.name, p.epoch, p.version, p.release, p.arch, p.license, p.vendor,
                  p.modularity_label, p.files) for p in db.packages)
    assert got == EXPECTED_SET


def test_same_set_identical_across_formats() -> None:
    results = {kind: sorted(read_database(path.read_bytes()).packages, key=lambda p: p.key)
               for kind, path in SAME_SET.items()}
    first = results["sqlite"]
    assert len(first) == 5
    for kind, packages in results.items():
        assert packages == first, kind


def test_header_old_filenames_and_i18n() -> None:
    blob = _header([
        (tags.NAME, tags.STRING, "old"),
        (tags.VERSION, tags.STRING, "1.0"),
        (tags.RELEASE, tags.STRING, "2"),
        (tags.EPOCH, tags.INT32, [0]),
        (tags.LICENSE, tags.STRING, "GPL"),
        (tags.VENDOR, tags.I18NSTRING, ["Vendor", "Vendeur"]),
        (tags.FILENAMES, tags.STRING_ARRAY, ["/etc/old.conf", "/usr/bin/old"]),
        (tags.FILEDIGESTALGO, tags.INT32, [2]),
    ])
    package = read_database(_sqlite_db([blob])).packages[0]
    assert package.key == ("old", 0, "1.0", "2", "")
    assert package.evr == "1.0-2"  # epoch 0 compares equal to none: not shown
    assert package.vendor == "Vendor"
    assert package.files == ("/etc/old.conf", "/usr/bin/old")
    assert package.digest_algorithm == "sha1"
    # the 8-byte magic of an exported header is skipped
    assert Header(tags.MAGIC + b"\0" * 4 + blob).string(tags.NAME) == "old"


def test_header_rejects_inconsistent_blobs() -> None:
    bad_index = _header([
        (tags.NAME, tags.STRING, "x"),
        (tags.BASENAMES, tags.STRING_ARRAY, ["a", "b"]),
        (tags.DIRNAMES, tags.STRING_ARRAY, ["/"]),
        (tags.DIRINDEXES, tags.INT32, [0, 5]),
    ])
    with pytest.raises(HeaderError, match="out of range"):
        Header(bad_index).files()
    wrong_type = _header([(tags.NAME, tags.INT32, [7])])
    with pytest.raises(HeaderError, match="type"):
        Header(wrong_type).string(tags.NAME)
    no_name = _header([(tags.VERSION, tags.STRING, "1")])
    db = read_database(_sqlite_db([no_name, _header([(tags.NAME, tags.STRING, "ok")])]))
    assert [p.name for p in db.packages] == ["ok"]
    assert db.problems == ("header 0: header has no NAME; skipped",)
    for garbage in (b"", b"\0" * 7, b"\0\0\0\0\0\0\0\0", b"\xff" * 64):
        with pytest.raises(HeaderError):
            Header(garbage)


def test_header_every_truncation_is_a_header_error() -> None:
    blob = _blobs(SAME_SET["sqlite"])[0]
    for size in range(len(blob)):
        with pytest.raises(HeaderError):
            Header(blob[:size])
    assert Header(blob).string(tags.NAME)


def _mutations(data: bytes, rng: random.Random, count: int) -> list[bytes]:
    out = [data[:rng.randrange(len(data))] for _ in range(count // 4)]
    for _ in range(count - len(out)):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(len(buf))
            buf[pos:pos + 4] = rng.randbytes(4)
        out.append(bytes(buf[:len(data)]))
    return out


@pytest.mark.parametrize("path", [*SAME_SET.values(), FIX / DIVE, FIX / LIBUUID],
                         ids=[*SAME_SET, "dive", "libuuid"])
def test_damaged_databases_raise_rpmdb_error_or_read(path: Path) -> None:
    data = read_fixture(path)
    rng = random.Random(f"rpm-{path.name}-{len(data)}")
    for damaged in _mutations(data, rng, 120):
        try:
            db = read_database(damaged)
        except RpmdbError:
            continue
        assert all(isinstance(p, RpmPackage) for p in db.packages)


def test_garbage_is_not_a_database() -> None:
    assert detect_format(b"garbage" * 100) is None
    with pytest.raises(RpmdbError, match="not an rpm database"):
        read_database(b"garbage" * 100)
    with pytest.raises(RpmdbError):
        read_database(b"SQLite format 3\x00" + b"\0" * 200)
    with pytest.raises(RpmdbError):
        read_database(b"RpmP" + b"\xff" * 60)


def test_truncated_ndb_keeps_what_is_whole() -> None:
    data = _fixture(SLES)
    db = read_database(data[:len(data) // 2])
    assert 0 < len(db.packages) < 35
    assert db.problems
    assert all("past the end" in p for p in db.problems)


# --- the analyzer ------------------------------------------------------------------------------


def test_spec_and_discovery() -> None:
    spec = Rpm.spec
    assert spec.name == "rpm"
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert "/var/lib/rpmmanifest/container-manifest-2" in spec.paths
    assert isinstance(Rpm(), TreeAnalyzer)
    assert Rpm in analyzer_classes()


def test_mariner_packages() -> None:
    result = _run([kit.file("/var/lib/rpm/rpmdb.sqlite", _fixture(MARINER))],
                  distro=MARINER_DISTRO)
    assert result.warnings == []
    assert len(result.packages) == 129
    tools = _by_name(result)["ca-certificates-tools"]
    assert tools.version == "1:2.0.0-1.cm2"
    assert tools.type == "rpm"
    assert tools.purl == ("pkg:rpm/mariner/ca-certificates-tools@2.0.0-1.cm2?arch=noarch"
                          "&distro=mariner-2.0&epoch=1"
                          "&upstream=ca-certificates-2.0.0-1.cm2.src.rpm")
    assert tools.source_name == "ca-certificates"
    assert tools.source_version == "1:2.0.0-1.cm2"
    assert tools.licenses == ("MPLv2.0",)
    assert tools.found_by == "rpm"
    assert tools.properties == {"arch": "noarch", "vendor": "Microsoft Corporation",
                                "files": "2"}  # rpm -ql: update-ca-trust and its man page
    assert tools.locations[0].path == "/var/lib/rpm/rpmdb.sqlite"
    assert tools.locations[0].layer == 0
    assert tools.introduced_in == 0
    bash = _by_name(result)["bash"]
    assert bash.properties["files"] == "67"
    assert bash.purl == ("pkg:rpm/mariner/bash@5.1.8-1.cm2?arch=x86_64&distro=mariner-2.0"
                         "&upstream=bash-5.1.8-1.cm2.src.rpm")
    assert result.packages == sorted(result.packages, key=lambda p: (p.sort_key(), p.purl or ""))


def test_sles_through_symlinked_dbpath() -> None:
    result = _run([
        kit.directory("/usr/lib/sysimage/rpm"),
        kit.file("/usr/lib/sysimage/rpm/Packages.db", _fixture(SLES)),
        kit.directory("/var/lib"),
        kit.symlink("/var/lib/rpm", "../../usr/lib/sysimage/rpm"),
    ], distro=SUSE_DISTRO)
    assert result.warnings == []
    assert len(result.packages) == 35
    glibc = _by_name(result)["glibc"]
    assert glibc.purl == ("pkg:rpm/suse/glibc@2.31-9.3.2?arch=x86_64&distro=suse-15.3"
                          "&upstream=glibc-2.31-9.3.2.src.rpm")
    assert glibc.locations[0].path == "/usr/lib/sysimage/rpm/Packages.db"
    assert glibc.licenses == ("LGPL-2.1-or-later AND LGPL-2.1-or-later WITH GCC-exception-2.0 "
                              "AND GPL-2.0-or-later",)


def test_epoch_without_distro() -> None:
    result = _run([kit.file("/var/lib/rpm/Packages", _fixture(EPOCH))])
    (hello,) = result.packages
    assert hello.version == "1:0.0.1-rls"
    assert hello.purl == "pkg:rpm/hello@0.0.1-rls?arch=x86_64&epoch=1&upstream=hello-0.0.1-rls.src.rpm"
    assert hello.source_name == "hello"
    assert hello.licenses == ("GPL",)


def test_analyzer_output_identical_across_formats() -> None:
    placed = {
        "sqlite": "/var/lib/rpm/rpmdb.sqlite",
        "ndb": "/usr/lib/sysimage/rpm/Packages.db",
        "bdb": "/var/lib/rpm/Packages",
        "bdb-be": "/var/lib/rpm/Packages",
    }
    outputs = {}
    for kind, path in placed.items():
        result = _run([kit.file(path, SAME_SET[kind].read_bytes())], distro=Distro(
            family="rocky", name="Rocky Linux", version="8.4"))
        assert result.warnings == []
        outputs[kind] = [(p.name, p.version, p.purl, p.source_name, p.source_version,
                          p.licenses, p.properties, p.introduced_in) for p in result.packages]
    assert outputs["sqlite"] == outputs["ndb"] == outputs["bdb"] == outputs["bdb-be"]
    gamma = {row[0]: row for row in outputs["ndb"]}["gamma-libs"]
    assert gamma[2] == ("pkg:rpm/rocky/gamma-libs@0.9-7.module%2Bel8.4.0%2B1234%2Babcdef12"
                        "?arch=x86_64&distro=rocky-8.4"
                        "&upstream=gamma-0.9-7.module%2Bel8.4.0%2B1234%2Babcdef12.src.rpm")
    assert gamma[3:5] == ("gamma", "0.9-7.module+el8.4.0+1234+abcdef12")
    assert gamma[6] == {"arch": "x86_64", "vendor": "Portcullis Test",
                        "modularitylabel": "gamma:0.9:8040020210101000000:abcdef12",
                        "files": "1"}
    beta = {row[0]: row for row in outputs["bdb"]}["beta"]
    assert beta[1] == "2:2.5.1-3.el9"
    delta = {row[0]: row for row in outputs["bdb-be"]}["delta"]
    assert delta[6] == {"arch": "noarch", "files": "0"}


def test_gpg_pubkey_is_skipped() -> None:
    pubkey = (DATA / "gpg-pubkey.hdr").read_bytes()
    data = _sqlite_db([*_blobs(SAME_SET["sqlite"]), pubkey])
    assert "gpg-pubkey" in [p.name for p in read_database(data).packages]
    result = _run([kit.file("/var/lib/rpm/rpmdb.sqlite", data)])
    assert sorted(p.name for p in result.packages) == ["alpha", "beta", "delta", "gamma",
                                                       "gamma-libs"]


def test_introduced_in_follows_the_db_history() -> None:
    blobs = {Header(b).string(tags.NAME): b for b in _blobs(SAME_SET["sqlite"])}
    base = _sqlite_db([blobs["alpha"], blobs["beta"], blobs["delta"]])
    grown = _sqlite_db([blobs["alpha"], blobs["beta"], blobs["gamma"], blobs["gamma-libs"]])
    result = _run(
        [kit.file("/var/lib/rpm/rpmdb.sqlite", base)],
        [kit.file("/etc/motd", "hi")],
        [kit.file("/var/lib/rpm/rpmdb.sqlite", grown)],
    )
    assert result.warnings == []
    got = {p.name: (p.introduced_in, p.locations[0].layer) for p in result.packages}
    assert got == {"alpha": (0, 2), "beta": (0, 2), "gamma": (2, 2), "gamma-libs": (2, 2)}


def test_introduced_in_spans_a_backend_conversion() -> None:
    """A BDB in the base layer, converted to SQLite later (the old file deleted)."""
    result = _run(
        [kit.file("/var/lib/rpm/Packages", SAME_SET["bdb"].read_bytes())],
        [kit.whiteout("/var/lib/rpm/Packages"),
         kit.file("/var/lib/rpm/rpmdb.sqlite", SAME_SET["sqlite"].read_bytes())],
    )
    assert result.warnings == []
    assert {p.introduced_in for p in result.packages} == {0}
    assert {p.locations[0].path for p in result.packages} == {"/var/lib/rpm/rpmdb.sqlite"}


def test_manifest_fallback() -> None:
    result = _run([kit.file("/var/lib/rpmmanifest/container-manifest-2", _fixture(MANIFEST))],
                  distro=MARINER_DISTRO)
    assert result.warnings == []
    got = {p.name: p for p in result.packages}
    assert sorted(got) == ["filesystem", "glibc", "mariner-release", "openssl-libs", "vim"]
    vim = got["vim"]
    assert vim.version == "2:9.0-1.cm2"
    assert vim.purl == ("pkg:rpm/mariner/vim@9.0-1.cm2?arch=x86_64&distro=mariner-2.0&epoch=2"
                        "&upstream=vim-9.0-1.cm2.src.rpm")
    assert vim.properties == {"arch": "x86_64", "vendor": "Microsoft Corporation"}
    assert got["openssl-libs"].source_name == "openssl"
    assert got["glibc"].version == "2.35-2.cm2"
    assert vim.locations[0].path == "/var/lib/rpmmanifest/container-manifest-2"


def test_manifest_ignored_when_a_db_exists() -> None:
    result = _run([
        kit.file("/var/lib/rpmmanifest/container-manifest-2", _fixture(MANIFEST)),
        kit.file("/var/lib/rpm/Packages", _fixture(DIVE)),
    ])
    assert [p.name for p in result.packages] == ["dive"]


def test_manifest_parser_skips_bad_lines() -> None:
    packages, problems = read_manifest(b"only\tthree\tcols\n\nok\t1-2\t0\t0\tV\t(none)\t5\tnoarch"
                                       b"\t0\tok-1-2.src.rpm\n")
    assert [(p.name, p.version, p.release, p.epoch, p.size) for p in packages] == [
        ("ok", "1", "2", None, 5)]
    assert problems == ["line 1: not a container-manifest-2 entry; skipped"]


@pytest.mark.parametrize("content", [
    b"garbage" * 100,
    b"SQLite format 3\x00" + b"\x01" * 300,
    b"RpmP\0\0\0\0" + b"\0" * 100,
], ids=["garbage", "bad-sqlite", "bad-ndb"])
def test_corrupt_db_is_a_located_warning(content: bytes) -> None:
    result = _run([kit.file("/etc/hostname", "x")],
                  [kit.file("/var/lib/rpm/rpmdb.sqlite", content)])
    assert result.packages == []
    (warning,) = result.warnings
    assert warning.path == "/var/lib/rpm/rpmdb.sqlite"
    assert warning.layer == 1
    assert warning.analyzer == "rpm"
    assert "rpm database unreadable" in warning.message


def test_truncated_sqlite_is_a_warning_not_a_crash() -> None:
    data = _fixture(MARINER)
    result = _run([kit.file("/var/lib/rpm/rpmdb.sqlite", data[:len(data) // 3])])
    assert result.warnings
    assert all(w.path == "/var/lib/rpm/rpmdb.sqlite" and w.analyzer == "rpm"
               for w in result.warnings)


def test_truncated_ndb_reports_lost_records() -> None:
    data = _fixture(SLES)
    result = _run([kit.file("/usr/lib/sysimage/rpm/Packages.db", data[:len(data) // 2])])
    assert 0 < len(result.packages) < 35
    assert result.warnings
    assert {w.path for w in result.warnings} == {"/usr/lib/sysimage/rpm/Packages.db"}


def test_unreadable_preferred_db_falls_back() -> None:
    result = _run([
        kit.file("/var/lib/rpm/rpmdb.sqlite", b"SQLite format 3\x00" + b"\x01" * 300),
        kit.file("/var/lib/rpm/Packages", _fixture(LIBUUID)),
    ])
    assert [p.name for p in result.packages] == ["libuuid"]
    assert result.packages[0].locations[0].path == "/var/lib/rpm/Packages"
    (warning,) = result.warnings
    assert warning.path == "/var/lib/rpm/rpmdb.sqlite"


def test_newest_backend_wins_and_the_other_is_named() -> None:
    result = _run([
        kit.file("/var/lib/rpm/Packages", _fixture(DIVE)),
        kit.file("/var/lib/rpm/rpmdb.sqlite", SAME_SET["sqlite"].read_bytes()),
    ])
    assert sorted(p.name for p in result.packages) == ["alpha", "beta", "delta", "gamma",
                                                       "gamma-libs"]
    (warning,) = result.warnings
    assert warning.path == "/var/lib/rpm/Packages"
    assert "ignored" in warning.message


def test_owned_paths() -> None:
    owned = _run([kit.file("/var/lib/rpm/Packages", SAME_SET["bdb"].read_bytes())]).owned_paths["rpm"]
    assert len(owned) == 8
    assert {"/usr/bin/beta", "/usr/lib64/libgamma.so.0", "/usr/share/alpha/README"} <= owned
    assert "rpm" not in _run([kit.file("/etc/hostname", "x")]).owned_paths


def test_no_db_no_packages() -> None:
    result = _run([kit.file("/etc/os-release", "ID=fedora\n")])
    assert result.packages == []
    assert result.warnings == []


@pytest.mark.parametrize(("srpm", "expected"), [
    ("openssl-1.1.1k-7.el8_6.src.rpm", ("openssl", "1.1.1k-7.el8_6")),
    ("util-linux-2.32.1-42.el8_8.src.rpm", ("util-linux", "2.32.1-42.el8_8")),
    ("kernel-5.14.0-1.nosrc.rpm", ("kernel", "5.14.0-1")),
    ("weird.src.rpm", ("weird", None)),
    (None, (None, None)),
])
def test_source_name_version(srpm: str | None, expected: tuple[str | None, str | None]) -> None:
    assert source_name_version(srpm) == expected
