"""Go modules compiled into executables: the build information the Go linker embeds in the
``.go.buildinfo`` section of every Go binary (what ``go version -m`` prints).

This is a file analyzer: executables can live anywhere, so each one is looked at once during
the layer pass instead of being captured. Which files it looks at and how their ELF headers are
read it shares with the cargo-auditable analyzer (``analyze/binary/executable.py``).
"""

from __future__ import annotations

import json
import struct
from typing import ClassVar

import msgspec
from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    WholeFileAnalyzer,
)
from portcullis.analyze.binary.elf import ElfError, ElfFile
from portcullis.analyze.binary.executable import (
    MAX_SIZE,
    accepts_executable,
    elf_section,
    read_elf,
)
from portcullis.limits import MiB
from portcullis.model.files import FileMeta, Location
from portcullis.model.finding import Warning
from portcullis.model.package import Package

BUILDINFO_MAGIC = b"\xff Go buildinf:"
_BUILDINFO_HEADER = 32
_BUILDINFO_ALIGN = 16
_FLAG_BIG_ENDIAN = 0x1
_FLAG_INLINE = 0x2
_MAX_STRING = 16 * MiB
# Build settings that may carry secrets (-ldflags "-X main.token=...") stay out of reports.
_SECRET_SETTING_SUFFIX = "flags"


class BuildInfoError(ValueError):
    """A ``.go.buildinfo`` that is present but cannot be decoded."""


# ELF ------------------------------------------------------------------------------------------


class Module(msgspec.Struct, frozen=True):
    path: str
    version: str
    sum: str = ""
    replace: Module | None = None


class BuildInfo(msgspec.Struct, frozen=True):
    go_version: str
    path: str
    main: Module | None
    deps: tuple[Module, ...]
    settings: tuple[tuple[str, str], ...]


def _find_buildinfo(elf: ElfFile) -> bytes | None:
    """The bytes from the build info header to the end of its section (or segment)."""
    if elf.sections():  # with a section table, the build info is a section or absent
        data = elf_section(elf, ".go.buildinfo")
        return data if data is not None and data.startswith(BUILDINFO_MAGIC) else None
    # No usable section table (stripped of it, or truncated): search the writable
    # segments for the 16-byte aligned magic, as Go's debug/buildinfo does.
    for vaddr, data in elf.writable_load_data():
        start = 0
        while (i := data.find(BUILDINFO_MAGIC, start)) >= 0:
            if (vaddr + i) % _BUILDINFO_ALIGN == 0:
                return data[i:]
            start = i + 1
    return None


def _uvarint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise BuildInfoError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def _inline_strings(data: bytes) -> tuple[bytes, bytes]:
    at = _BUILDINFO_HEADER
    out = []
    for _ in range(2):
        length, at = _uvarint(data, at)
        if at + length > len(data):
            raise BuildInfoError("string runs past the end of .go.buildinfo")
        out.append(data[at:at + length])
        at += length
    return out[0], out[1]


def _pointer_strings(elf: ElfFile, data: bytes, ptr_size: int, big: bool) -> tuple[bytes, bytes]:
    if ptr_size not in (4, 8):
        raise BuildInfoError(f"pointer size {ptr_size}")
    fmt = (">" if big else "<") + ("Q" if ptr_size == 8 else "I")
    if len(data) < 16 + 2 * ptr_size:
        raise BuildInfoError("truncated header")

    def string_at(header_addr: int) -> bytes:
        header = elf.read_at(header_addr, 2 * ptr_size)
        (addr,) = struct.unpack_from(fmt, header, 0)
        (length,) = struct.unpack_from(fmt, header, ptr_size)
        return elf.read_at(addr, length) if length else b""

    (version_ptr,) = struct.unpack_from(fmt, data, 16)
    (mod_ptr,) = struct.unpack_from(fmt, data, 16 + ptr_size)
    try:
        return string_at(version_ptr), string_at(mod_ptr)
    except ElfError as e:
        raise BuildInfoError(str(e)) from e


def _unquote(text: str) -> str:
    """Go's strconv.Quote output for the cases build settings use; raw text otherwise."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            return text[1:-1]
        return value if isinstance(value, str) else text
    return text


def _split_setting(rest: str) -> tuple[str, str] | None:
    if rest.startswith('"'):
        end = 1
        while end < len(rest):
            if rest[end] == "\\":
                end += 2
                continue
            if rest[end] == '"':
                break
            end += 1
        key, rest = _unquote(rest[:end + 1]), rest[end + 1:]
        if not rest.startswith("="):
            return None
        return key, _unquote(rest[1:])
    key, sep, value = rest.partition("=")
    return (key, _unquote(value)) if sep and key else None


def parse_modinfo(go_version: str, modinfo: str) -> BuildInfo:
    """The text ``runtime/debug.BuildInfo.String`` writes, without its sentinels."""
    path = ""
    main: Module | None = None
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    last: str | None = None  # "mod" or "dep": what a "=>" line replaces
    for number, line in enumerate(modinfo.splitlines(), 1):
        if not line:
            continue
        word, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if word == "path":
            path = rest
        elif word in ("mod", "dep"):
            if len(fields) < 2 and word == "dep":
                raise BuildInfoError(f"line {number}: dep without version")
            module = Module(fields[0], fields[1] if len(fields) > 1 else "",
                            fields[2] if len(fields) > 2 else "")
            if word == "mod":
                main = module
            else:
                deps.append(module)
            last = word
        elif word == "=>":
            if last is None:
                raise BuildInfoError(f"line {number}: replacement without module")
            replacement = Module(fields[0], fields[1] if len(fields) > 1 else "",
                                 fields[2] if len(fields) > 2 else "")
            if last == "mod" and main is not None:
                main = Module(main.path, main.version, main.sum, replacement)
            elif deps:
                old = deps[-1]
                deps[-1] = Module(old.path, old.version, old.sum, replacement)
            last = None
        elif word == "build":
            setting = _split_setting(rest)
            if setting is not None:
                settings.append(setting)
        elif word == "go":
            go_version = go_version or rest
    return BuildInfo(go_version=go_version, path=path, main=main, deps=tuple(deps),
                     settings=tuple(settings))


def _strip_sentinels(modinfo: bytes) -> bytes:
    # cmd/go wraps the text in two 16-byte sentinels (runtime/debug.modinfo).
    if len(modinfo) >= 33 and modinfo[-17] == ord("\n"):
        return modinfo[16:-16]
    return modinfo


def read_buildinfo(data: bytes) -> BuildInfo | None:
    """Build info of a Go ELF binary; None for anything that is not one. Raises
    ``BuildInfoError`` when the build info is there but unreadable."""
    elf = read_elf(data)
    blob = _find_buildinfo(elf) if elf is not None else None
    if elf is None or blob is None:
        return None
    if len(blob) < _BUILDINFO_HEADER:
        raise BuildInfoError("truncated build info header")
    ptr_size, flags = blob[14], blob[15]
    if flags & _FLAG_INLINE:
        version, modinfo = _inline_strings(blob)
    else:
        version, modinfo = _pointer_strings(elf, blob, ptr_size, bool(flags & _FLAG_BIG_ENDIAN))
    try:
        version_text = version.decode("utf-8")
        modinfo_text = _strip_sentinels(modinfo).decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildInfoError(f"not UTF-8: {e}") from e
    if not version_text.startswith(("go", "devel")):
        raise BuildInfoError(f"implausible Go version {version_text[:40]!r}")
    return parse_modinfo(version_text, modinfo_text)


# packages -------------------------------------------------------------------------------------


def stdlib_version(go_version: str) -> str:
    """``go1.21.5`` → ``1.21.5``; ``go1.21.5 X:boringcrypto`` → ``1.21.5``;
    ``devel go1.23-abc`` → ``devel``."""
    parts = go_version.split(maxsplit=1)
    token = parts[0] if parts else go_version
    return token.removeprefix("go")


def purl_of(path: str, version: str) -> str:
    namespace, _, name = path.rpartition("/")
    return str(PackageURL(type="golang", namespace=namespace or None, name=name,
                          version=version or None).to_string())


def _public_settings(info: BuildInfo) -> dict[str, str]:
    return {k: v for k, v in info.settings
            if not k.lower().endswith(_SECRET_SETTING_SUFFIX)}


def packages_of(info: BuildInfo, path: str, layer: int, found_by: str) -> list[Package]:
    main_path = info.main.path if info.main else ""
    common = {"go_version": info.go_version}
    if main_path:
        common["main_module"] = main_path
    if info.path:
        common["main_package"] = info.path
    settings = _public_settings(info)
    location = (Location(path=path, layer=layer),)
    out: list[Package] = []
    seen: set[tuple[str, str]] = set()

    def add(name: str, version: str, extra: dict[str, str]) -> None:
        if not name or (name, version) in seen:
            return
        seen.add((name, version))
        out.append(Package(name=name, version=version, type="go-module",
                           purl=purl_of(name, version), locations=location,
                           introduced_in=layer, found_by=found_by,
                           properties={**common, **extra}))

    if info.main is not None:
        add(info.main.path, info.main.version or "(devel)", {"main": "true", **settings})
    for dep in info.deps:
        extra: dict[str, str] = {}
        name, version = dep.path, dep.version
        rep = dep.replace
        if rep is not None:
            if rep.version:  # a module replacement: the replacement is what got compiled
                extra = {"replaces": dep.path, "replaces_version": dep.version}
                name, version = rep.path, rep.version
            else:  # a local directory replacement: no module version to report
                extra = {"replaced_by": rep.path}
        add(name, version, extra)
    add("stdlib", stdlib_version(info.go_version),
        settings if info.main is None else {})
    return out


class GoBinaries(WholeFileAnalyzer):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="go-binary",
        version=1,
        scanners=frozenset({"packages"}),
        paths=(),
        max_file_size=MAX_SIZE,
        stage=STAGE_INVENTORY,
    )

    def accepts(self, meta: FileMeta) -> bool:
        return accepts_executable(meta)

    def analyze_file(self, meta: FileMeta, data: bytes, layer: int,
                     ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        try:
            info = read_buildinfo(data)
        except BuildInfoError as e:
            result.warnings.append(Warning(message=f"cannot read Go build info: {e}",
                                           path=meta.path, layer=layer,
                                           analyzer=self.spec.name))
            return result
        if info is not None:
            result.packages.extend(packages_of(info, meta.path, layer, self.spec.name))
        return result
