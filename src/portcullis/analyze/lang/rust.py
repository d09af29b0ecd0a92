"""Rust crates: ``Cargo.lock`` files of applications, and the dependency list that
cargo-auditable embeds in executables (a zlib-compressed JSON in the ``.dep-v0`` section)."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any, ClassVar

from packageurl import PackageURL

from portcullis.analyze.base import (
    STAGE_INVENTORY,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
    WholeFileAnalyzer,
)
from portcullis.analyze.binary.executable import (
    MAX_SIZE,
    accepts_executable,
    elf_section,
    read_elf,
)
from portcullis.analyze.lang.package_files import (
    Found,
    Origin,
    PackageFiles,
    ParseError,
    Parser,
    load_json,
    named,
    to_packages,
    toml_package_tables,
)
from portcullis.limits import MiB
from portcullis.model.files import FileMeta
from portcullis.model.finding import Warning

PACKAGE_TYPE = "rust-crate"
AUDITABLE_SECTION = ".dep-v0"
# rust-audit-info's default limit for the decompressed JSON; more is a zip bomb, not a list.
MAX_AUDIT_JSON = 8 * MiB


def purl_of(name: str, version: str) -> str:
    return str(PackageURL(type="cargo", name=name, version=version).to_string())


# Cargo.lock -----------------------------------------------------------------------------------


def parse_cargo_lock(data: bytes) -> list[Found]:
    """``[[package]]`` tables. Only crates from a registry (``registry+``/``sparse+``
    sources) or without a source (the workspace's own crates) are packages; git and path
    sources have no registry version to match advisories against."""
    crates: list[Found] = []
    for item in toml_package_tables(data):
        pair, source = named(item), item.get("source")
        if pair is None:
            continue
        if source is None:
            crates.append(Found(*pair))
        elif isinstance(source, str) and source.startswith(("registry+", "sparse+")):
            crates.append(Found(*pair, properties=(("source", source),)))
    return crates


class CargoLock(PackageFiles):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="cargo-lock",
        version=1,
        scanners=frozenset({"packages"}),
        paths=("*/Cargo.lock",),
        stage=STAGE_INVENTORY,
    )

    describes = "Cargo.lock"  # tomllib.TOMLDecodeError is a ValueError
    package_type = PACKAGE_TYPE

    def parser(self, path: str) -> Callable[[bytes], list[Found]]:
        return parse_cargo_lock

    def origin(self, parse: Parser) -> Origin:
        return Origin(self.spec.name, declared=True)

    def purl(self, name: str, version: str) -> str:
        return purl_of(name, version)


# cargo-auditable ------------------------------------------------------------------------------


def _inflate(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_AUDIT_JSON + 1)
    except zlib.error as e:
        raise ParseError(f"not zlib data: {e}") from e
    if len(data) > MAX_AUDIT_JSON:
        raise ParseError(f"audit data inflates to more than {MAX_AUDIT_JSON} bytes")
    return data


def _field(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def parse_audit_data(compressed: bytes) -> list[Found]:
    """The ``.dep-v0`` payload: ``{"packages": [{"name", "version", "source", "kind",
    "dependencies", "root"}]}`` (auditable-serde's VersionInfo), zlib-compressed."""
    try:
        doc = load_json(_inflate(compressed))
    except ValueError as e:
        if isinstance(e, ParseError):
            raise
        raise ParseError(f"not JSON: {e}") from e
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(packages, list):
        raise ParseError("no 'packages' array")
    crates: list[Found] = []
    for item in packages:
        if not isinstance(item, dict):
            continue
        name, version = _field(item, "name"), _field(item, "version")
        if not name or not version:
            continue
        props = [("source", _field(item, "source") or "crates.io"),
                 ("kind", _field(item, "kind") or "runtime")]
        if item.get("root") is True:
            props.append(("root", "true"))
        crates.append(Found(name, version, properties=tuple(props)))
    return crates


class CargoAuditable(WholeFileAnalyzer):
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="cargo-auditable",
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
        elf = read_elf(data)
        payload = elf_section(elf, AUDITABLE_SECTION) if elf is not None else None
        if payload is None:
            return result
        try:
            crates = parse_audit_data(payload)
        except ParseError as e:
            result.warnings.append(Warning(
                message=f"cannot read cargo-auditable data: {e}", path=meta.path, layer=layer,
                analyzer=self.spec.name))
            return result
        result.packages.extend(to_packages(
            crates, path=meta.path, layer=layer, introduced_in=layer, package_type=PACKAGE_TYPE,
            purl=purl_of, origin=Origin(self.spec.name)))
        return result
