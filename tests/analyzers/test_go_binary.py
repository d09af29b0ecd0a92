"""GoBinaries over real Go executables installed by Debian packages, and small ELF files
written here for the formats those binaries do not show (module lists, replacements, the
pointer-based build info of Go < 1.18, 32-bit big-endian).

The real binaries come from Debian packages scripts/test installs. Facts about them were read
independently of the analyzer with ``readelf -x .go.buildinfo`` (binutils). Debian (bookworm)
builds them in GOPATH mode: their modinfo has a ``path`` line and ``build`` settings, but NO
``mod``/``dep`` lines, so the only module package they yield is ``stdlib``:

- skopeo 1.9.3+ds1-1+b10: path github.com/containers/skopeo/cmd/skopeo
- docker-registry 2.8.2+ds1-1: path github.com/docker/distribution/cmd/registry
- umoci 0.4.7+ds-3+b7: path github.com/opencontainers/umoci/cmd/umoci
- all: go1.19.8, build -compiler=gc, -trimpath=true, CGO_ENABLED=1, GOARCH=amd64, GOOS=linux,
  GOAMD64=v1

The Go version a package was built with is also in its ``Built-Using`` field
(``golang-1.19 (= 1.19.8-2)``): the tests take the expected version from there, so a rebuilt
package does not need new numbers here. No Debian package ships a module-mode Go binary
(``dep`` lines); the small ELF files below cover that format.
"""

from __future__ import annotations

import re
import struct
import subprocess
import time
from pathlib import Path

import pytest

from portcullis.analyze.base import STAGE_INVENTORY, FileAnalyzer
from portcullis.analyze.discovery import analyzer_classes
from portcullis.analyze.lang.go_binary import GoBinaries, purl_of, stdlib_version
from portcullis.model.files import FileKind, FileMeta
from portcullis.model.package import Package
from portcullis.scan import ScanOptions, scan
from tests.images import kit
from tests.unit.layer_helpers import analysis_context

SKOPEO = Path("/usr/bin/skopeo")
REGISTRY = Path("/usr/bin/docker-registry")
UMOCI = Path("/usr/bin/umoci")

# Debian package and main package path of each binary (see the module docstring).
DEBIAN = {
    SKOPEO: ("skopeo", "github.com/containers/skopeo/cmd/skopeo"),
    REGISTRY: ("docker-registry", "github.com/docker/distribution/cmd/registry"),
    UMOCI: ("umoci", "github.com/opencontainers/umoci/cmd/umoci"),
}


def _binary(path: Path) -> bytes:
    if not path.is_file():
        pytest.fail(f"{path} not installed (scripts/test installs it with apt-get)")
    return path.read_bytes()


def _go_arch() -> str:
    """GOARCH of this machine's Debian architecture (the packages are built for it)."""
    debian = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                            check=True, timeout=30).stdout.strip()
    return {"i386": "386", "armhf": "arm", "armel": "arm", "ppc64el": "ppc64le",
            "mips64el": "mips64le", "mipsel": "mipsle"}.get(debian, debian)


def _built_with_go(package: str) -> str:
    """The Go version in the package's Built-Using field: ``golang-1.19 (= 1.19.8-2)`` -> 1.19.8."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Built-Using}", package],
                          capture_output=True, text=True, check=True, timeout=30)
    found = re.search(r"\bgolang-1\.\d+ \(= (\d+\.\d+(?:\.\d+)?)-", proc.stdout)
    assert found, f"{package}: no golang-1.N in Built-Using: {proc.stdout!r}"
    return found.group(1)


def _meta(path: str = "/usr/bin/app", size: int = 4096, mode: int = 0o755,
          kind: FileKind = FileKind.FILE) -> FileMeta:
    return FileMeta(path=path, kind=kind, size=size, mode=mode)


def _analyze(data: bytes, path: str = "/usr/bin/app", layer: int = 0) -> tuple[
        list[Package], list[str]]:
    result = GoBinaries().analyze_file(_meta(path, len(data)), data, layer, analysis_context())
    return result.packages, [w.message for w in result.warnings]


def _by_name(packages: list[Package] | tuple[Package, ...]) -> dict[str, Package]:
    return {p.name: p for p in packages}


# a tiny ELF writer --------------------------------------------------------------------------

VADDR = 0x400000
DATA_START = 0x100


def _align(n: int, to: int = 16) -> int:
    return (n + to - 1) // to * to


def section_offsets(sections: list[tuple[str, bytes]]) -> list[int]:
    """File offsets (= VADDR-relative addresses) where ``build_elf`` puts each section."""
    out, at = [], DATA_START
    for _, data in sections:
        out.append(at)
        at = _align(at + len(data))
    return out


def build_elf(sections: list[tuple[str, bytes]], *, is64: bool = True, big: bool = False,
              with_section_table: bool = True, machine: int = 62) -> bytes:
    """A minimal, valid ELF executable: one RW PT_LOAD mapping the whole file at VADDR, the
    given PROGBITS sections (address = VADDR + file offset), ``.shstrtab`` and the section
    header table at the end. Padded to more than 1 KiB."""
    e = ">" if big else "<"
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    body = bytearray(DATA_START)
    offsets = section_offsets(sections)
    for (_, data), offset in zip(sections, offsets, strict=True):
        body[len(body):] = b"\0" * (offset - len(body))
        body += data
    names = bytearray(b"\0")
    name_offsets = []
    for name, _ in [*sections, (".shstrtab", b"")]:
        name_offsets.append(len(names))
        names += name.encode() + b"\0"
    body[len(body):] = b"\0" * (_align(len(body)) - len(body))
    shstr_off = len(body)
    body += names
    body[len(body):] = b"\0" * (max(_align(len(body), 8), 1100) - len(body))
    shoff = len(body)
    headers = [struct.pack(e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII"),
                           0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    for i, ((_, data), offset) in enumerate(zip(sections, offsets, strict=True)):
        headers.append(struct.pack(e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII"),
                                   name_offsets[i], 1, 3, VADDR + offset, offset, len(data),
                                   0, 0, 16, 0))
    headers.append(struct.pack(e + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII"),
                               name_offsets[-1], 3, 0, 0, shstr_off, len(names), 0, 0, 1, 0))
    table = b"".join(headers) if with_section_table else b""
    total = shoff + len(table)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 2 if big else 1, 1]) + b"\0" * 9
    shnum = len(headers) if with_section_table else 0
    shstrndx = len(headers) - 1 if with_section_table else 0
    if is64:
        header = ident + struct.pack(e + "HHIQQQIHHHHHH", 2, machine, 1, VADDR, ehsize,
                                     shoff if with_section_table else 0, 0, ehsize, phentsize,
                                     1, shentsize, shnum, shstrndx)
        phdr = struct.pack(e + "IIQQQQQQ", 1, 6, 0, VADDR, VADDR, total, total, 0x1000)
    else:
        header = ident + struct.pack(e + "HHIIIIIHHHHHH", 2, machine, 1, VADDR, ehsize,
                                     shoff if with_section_table else 0, 0, ehsize, phentsize,
                                     1, shentsize, shnum, shstrndx)
        phdr = struct.pack(e + "IIIIIIII", 1, 0, VADDR, VADDR, total, total, 6, 0x1000)
    body[0:len(header) + len(phdr)] = header + phdr
    return bytes(body) + table


SENTINEL_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
SENTINEL_END = bytes.fromhex("f932433186182072008242104116d8f2")
MAGIC = b"\xff Go buildinf:"


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def modinfo_blob(text: str) -> bytes:
    return SENTINEL_START + text.encode() + SENTINEL_END


def inline_buildinfo(version: str, modinfo: str, ptr_size: int = 8) -> bytes:
    """Go >= 1.18: header with flag 0x2, then varint-prefixed version and modinfo."""
    blob = modinfo_blob(modinfo)
    header = MAGIC + bytes([ptr_size, 0x2]) + b"\0" * 16
    return header + _uvarint(len(version)) + version.encode() + _uvarint(len(blob)) + blob


def pointer_go_elf(version: str, modinfo: str, *, is64: bool = True, big: bool = False,
                   bad_pointer: bool = False) -> bytes:
    """Go < 1.18: the header holds two pointers to Go string headers (ptr, len) in .data."""
    e = ">" if big else "<"
    ptr = "Q" if is64 else "I"
    size = 8 if is64 else 4
    blob = modinfo_blob(modinfo)
    data_addr = VADDR + DATA_START
    strings = version.encode() + blob
    headers_at = data_addr + _align(len(strings), size)
    data = (strings + b"\0" * (_align(len(strings), size) - len(strings))
            + struct.pack(e + ptr + ptr, data_addr, len(version))
            + struct.pack(e + ptr + ptr, data_addr + len(version), len(blob)))
    version_hdr = 0xDEAD0000 if bad_pointer else headers_at
    info = (MAGIC + bytes([size, 0x1 if big else 0x0])
            + struct.pack(e + ptr + ptr, version_hdr, headers_at + 2 * size))
    info += b"\0" * (32 - len(info))
    return build_elf([(".data", data), (".go.buildinfo", info)], is64=is64, big=big)


MODINFO = (
    "path\texample.com/app/cmd/app\n"
    "mod\texample.com/app\t(devel)\t\n"
    "dep\tgithub.com/google/uuid\tv1.6.0\th1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=\n"
    "dep\tgolang.org/x/net\tv0.17.0\th1:abc=\n"
    "=>\tgolang.org/x/net\tv0.23.0\th1:def=\n"
    "dep\texample.com/local\tv0.0.0-00010101000000-000000000000\t\n"
    "=>\t../local\t\t\n"
    "build\t-buildmode=exe\n"
    "build\t-ldflags=\"-X main.token=s3cr3t\"\n"
    "build\tCGO_ENABLED=0\n"
    "build\tGOARCH=arm64\n"
    "build\tGOOS=linux\n"
    "build\tvcs=git\n"
    "build\tvcs.revision=0123456789abcdef0123456789abcdef01234567\n"
    "build\tvcs.modified=false\n"
)


# spec ---------------------------------------------------------------------------------------


def test_spec_and_discovery() -> None:
    spec = GoBinaries.spec
    assert spec.name == "go-binary"
    assert spec.version == 1
    assert spec.stage == STAGE_INVENTORY
    assert spec.scanners == frozenset({"packages"})
    assert spec.paths == ()
    assert spec.max_file_size == 512 * 1024 * 1024
    assert isinstance(GoBinaries(), FileAnalyzer)
    assert GoBinaries in analyzer_classes()


def test_accepts_only_big_enough_regular_executables() -> None:
    go = GoBinaries()
    assert go.accepts(_meta(size=1024))
    assert go.accepts(_meta(mode=0o700))
    assert not go.accepts(_meta(size=1023))
    assert not go.accepts(_meta(mode=0o644))
    assert not go.accepts(_meta(kind=FileKind.HARDLINK))
    assert not go.accepts(_meta(kind=FileKind.SYMLINK, mode=0o777))


def test_stdlib_version_and_purl() -> None:
    assert stdlib_version("go1.21.5") == "1.21.5"
    assert stdlib_version("go1.22.1 X:boringcrypto") == "1.22.1"
    assert purl_of("github.com/google/uuid", "v1.6.0") == "pkg:golang/github.com/google/uuid@v1.6.0"
    assert purl_of("stdlib", "1.21.5") == "pkg:golang/stdlib@1.21.5"


# real Debian binaries -----------------------------------------------------------------------


@pytest.mark.parametrize("binary", [SKOPEO, REGISTRY, UMOCI], ids=lambda p: p.name)
def test_real_debian_binary(binary: Path) -> None:
    data = _binary(binary)
    packages, warnings = _analyze(data, path=f"/usr/bin/{binary.name}", layer=2)
    assert warnings == []
    package, main_path = DEBIAN[binary]
    go = _built_with_go(package)
    # GOPATH build: no mod/dep lines, so stdlib is the only module.
    assert [p.name for p in packages] == ["stdlib"]
    stdlib = packages[0]
    assert stdlib.version == go
    assert stdlib.purl == f"pkg:golang/stdlib@{go}"
    assert stdlib.type == "go-module"
    assert stdlib.found_by == "go-binary"
    assert stdlib.introduced_in == 2
    assert stdlib.locations[0].path == f"/usr/bin/{binary.name}"
    assert stdlib.locations[0].layer == 2
    assert stdlib.properties["go_version"] == f"go{go}"
    assert stdlib.properties["main_package"] == main_path
    assert "main_module" not in stdlib.properties
    arch = _go_arch()
    expected = {"-compiler": "gc", "-trimpath": "true", "CGO_ENABLED": "1", "GOARCH": arch,
                "GOOS": "linux"} | ({"GOAMD64": "v1"} if arch == "amd64" else {})
    for key, value in expected.items():
        assert stdlib.properties[key] == value


def test_skopeo_through_the_scanner(tmp_path: Path) -> None:
    skopeo = _binary(SKOPEO)
    registry = _binary(REGISTRY)
    spec = kit.ImageSpec(layers=[
        kit.Layer([kit.directory("usr"), kit.directory("usr/bin"),
                   kit.file("usr/bin/skopeo", skopeo, mode=0o755),
                   kit.file("usr/bin/not-exec", skopeo, mode=0o644),
                   kit.file("usr/bin/ls", _binary(Path("/bin/ls")), mode=0o755)],
                  compression="none"),
        kit.Layer([kit.directory("srv"), kit.file("srv/registry", registry, mode=0o755)],
                  compression="none"),
    ])
    layout = kit.write_oci_layout(tmp_path / "oci", spec)
    report = scan(f"oci:{layout}:latest", ScanOptions(scanners=frozenset({"packages"})))
    go = [p for p in report.packages if p.found_by == "go-binary"]
    assert [w for w in report.warnings if w.analyzer == "go-binary"] == []
    by_path = {p.locations[0].path: p for p in go}
    assert sorted(by_path) == ["/srv/registry", "/usr/bin/skopeo"]  # not the 0644 copy, not ls
    assert by_path["/usr/bin/skopeo"].name == "stdlib"
    assert by_path["/usr/bin/skopeo"].introduced_in == 0
    assert by_path["/srv/registry"].introduced_in == 1
    assert by_path["/srv/registry"].locations[0].layer == 1
    assert by_path["/usr/bin/skopeo"].properties["main_package"] == (
        "github.com/containers/skopeo/cmd/skopeo")


# not Go, or broken --------------------------------------------------------------------------


def test_non_go_elf_gives_nothing() -> None:
    packages, warnings = _analyze(_binary(Path("/bin/ls")))
    assert packages == [] and warnings == []


def test_non_elf_gives_nothing() -> None:
    packages, warnings = _analyze(b"#!/bin/sh\necho hi\n" + b"#" * 2000)
    assert packages == [] and warnings == []


@pytest.mark.parametrize("cut", [0, 4, 20, 64, 4096, 1 << 20, 8 << 20])
def test_truncated_go_binary_does_not_crash(cut: int) -> None:
    data = _binary(SKOPEO)[:cut]
    packages, warnings = _analyze(data)
    assert packages == [] and warnings == []


def test_truncated_after_buildinfo_still_reads_it() -> None:
    """Cut off the section header table (at the end), but keep .go.buildinfo: found by
    searching the writable segments, as Go's debug/buildinfo does."""
    data = _binary(SKOPEO)
    at = data.find(MAGIC)
    assert at > 0
    packages, warnings = _analyze(data[:at + 4096])
    assert warnings == []
    assert [(p.name, p.version) for p in packages] == [("stdlib", _built_with_go("skopeo"))]


# formats written here -----------------------------------------------------------------------


def _check_modules(packages: list[Package]) -> None:
    pkgs = _by_name(packages)
    assert sorted(pkgs) == ["example.com/app", "example.com/local", "github.com/google/uuid",
                            "golang.org/x/net", "stdlib"]
    main = pkgs["example.com/app"]
    assert main.version == "(devel)"
    assert main.properties["main"] == "true"
    assert main.properties["GOARCH"] == "arm64"
    assert main.properties["vcs.revision"] == "0123456789abcdef0123456789abcdef01234567"
    assert "-ldflags" not in main.properties  # may hold secrets
    assert pkgs["github.com/google/uuid"].purl == "pkg:golang/github.com/google/uuid@v1.6.0"
    net = pkgs["golang.org/x/net"]
    assert net.version == "v0.23.0"  # the replacement is what was compiled
    assert net.properties["replaces"] == "golang.org/x/net"
    assert net.properties["replaces_version"] == "v0.17.0"
    local = pkgs["example.com/local"]
    assert local.version == "v0.0.0-00010101000000-000000000000"
    assert local.properties["replaced_by"] == "../local"
    stdlib = pkgs["stdlib"]
    assert stdlib.version == "1.21.5"
    for p in packages:
        assert p.properties["go_version"] == "go1.21.5"
        assert p.properties["main_module"] == "example.com/app"
        assert p.properties["main_package"] == "example.com/app/cmd/app"
        assert p.type == "go-module" and p.found_by == "go-binary"
        assert p.introduced_in == 3 and p.locations[0].layer == 3


def test_inline_buildinfo_go_1_18_plus() -> None:
    elf = build_elf([(".text", b"\xc3" * 64),
                     (".go.buildinfo", inline_buildinfo("go1.21.5", MODINFO))])
    packages, warnings = _analyze(elf, layer=3)
    assert warnings == []
    _check_modules(packages)


def test_inline_buildinfo_without_section_table() -> None:
    elf = build_elf([(".go.buildinfo", inline_buildinfo("go1.21.5", MODINFO))],
                    with_section_table=False)
    packages, _ = _analyze(elf, layer=3)
    _check_modules(packages)


@pytest.mark.parametrize(("is64", "big"), [(True, False), (False, True), (False, False)])
def test_pointer_buildinfo_before_go_1_18(is64: bool, big: bool) -> None:
    packages, warnings = _analyze(pointer_go_elf("go1.21.5", MODINFO, is64=is64, big=big),
                                  layer=3)
    assert warnings == []
    _check_modules(packages)


def test_corrupt_buildinfo_is_a_warning() -> None:
    packages, warnings = _analyze(pointer_go_elf("go1.16.2", MODINFO, bad_pointer=True))
    assert packages == []
    assert len(warnings) == 1 and "Go build info" in warnings[0]
    truncated = inline_buildinfo("go1.21.5", MODINFO)[:60]
    packages, warnings = _analyze(build_elf([(".go.buildinfo", truncated)]))
    assert packages == [] and len(warnings) == 1


def test_non_go_path_is_cheap() -> None:
    data = _binary(Path("/bin/ls"))
    go = GoBinaries()
    meta, ctx = _meta(size=len(data)), analysis_context()
    started = time.perf_counter()
    for _ in range(200):
        go.analyze_file(meta, data, 0, ctx)
    assert (time.perf_counter() - started) / 200 < 0.005  # measured ~0.15 ms
