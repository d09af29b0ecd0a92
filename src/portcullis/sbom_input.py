"""``sbom:FILE``: the inventory an SBOM lists, to re-check it against today's database.

Reads CycloneDX JSON (1.4 to 1.6), SPDX 2.3 JSON and Portcullis' own JSON report, and yields
packages and the distribution: no image, no layers. The file is hostile input like any
manifest: its size and nesting are bounded (``model/json_doc``) and its shape is checked by
typed records, so a bad file is one error naming the file and the field.

A package's type, source package and distribution come from what Portcullis' writers emit
(``portcullis:package:*`` properties, the SPDX ``sourceInfo``), else from the purl: its type,
its ``upstream`` qualifier (``src`` or ``src@version``) and its ``distro`` qualifier
(``debian-12``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import DocumentError, SourceError
from portcullis.model import json_doc
from portcullis.model.distro import Distro
from portcullis.model.files import Location
from portcullis.model.package import Package

SCHEME = "sbom:"
# Larger than an image document's bound: an SBOM of a big image (thousands of components, each
# with properties) runs to tens of MB.
MAX_SBOM_BYTES = 64 << 20
CYCLONEDX_VERSIONS = ("1.4", "1.5", "1.6")
SPDX_VERSIONS = ("SPDX-2.3",)

# purl type → Package.type (the values the analyzers set and vulndb/match.py maps).
PURL_TYPES = {
    "pypi": "python",
    "npm": "npm",
    "maven": "java-archive",
    "golang": "go-module",
    "cargo": "rust-crate",
    "gem": "gem",
    "composer": "php-composer",
    "nuget": "dotnet",
    "deb": "deb",
    "apk": "apk",
    "rpm": "rpm",
}

_SPDX_SOURCE = re.compile(r"built from source package (?P<name>[^\s;]+)(?: (?P<version>[^\s;]+))?")


class Inventory(msgspec.Struct, frozen=True):
    """What an SBOM says is installed."""

    path: Path
    format: str  # "cyclonedx", "spdx" or "portcullis"
    packages: tuple[Package, ...]
    distro: Distro | None


# --- the documents as written (unknown fields ignored) --------------------------------------


class _Property(msgspec.Struct, kw_only=True):
    name: str
    value: str = ""


class _Component(msgspec.Struct, kw_only=True):
    type: str = "library"
    name: str
    version: str | None = None
    purl: str | None = None
    properties: list[_Property] = []
    components: list[_Component] = []


class _Metadata(msgspec.Struct, kw_only=True):
    component: _Component | None = None


class _CycloneDX(msgspec.Struct, kw_only=True):
    specVersion: str
    metadata: _Metadata | None = None
    components: list[_Component] = []


class _ExternalRef(msgspec.Struct, kw_only=True):
    referenceType: str = ""
    referenceLocator: str = ""


class _SpdxPackage(msgspec.Struct, kw_only=True):
    name: str
    versionInfo: str | None = None
    externalRefs: list[_ExternalRef] = []
    primaryPackagePurpose: str | None = None
    sourceInfo: str | None = None


class _Spdx(msgspec.Struct, kw_only=True):
    spdxVersion: str
    packages: list[_SpdxPackage] = []


class _ReportPackage(msgspec.Struct, kw_only=True):
    name: str
    version: str
    type: str
    purl: str | None = None
    source_name: str | None = None
    path: str | None = None


class _ReportOs(msgspec.Struct, kw_only=True):
    family: str
    name: str | None = None
    version: str | None = None
    codename: str | None = None
    pretty_name: str | None = None


class _ReportArtifact(msgspec.Struct, kw_only=True):
    os: _ReportOs | None = None


class _Report(msgspec.Struct, kw_only=True):
    schema_version: int
    artifact: _ReportArtifact
    packages: list[_ReportPackage] = []


# --- reading ---------------------------------------------------------------------------------


def read_sbom(path: Path, *, max_size: int = MAX_SBOM_BYTES) -> Inventory:
    where = str(path)
    try:
        with path.open("rb") as f:
            data = f.read(max_size + 1)
    except OSError as e:
        raise SourceError(f"cannot read SBOM {where}: {e.strerror or e}") from e
    doc = json_doc.decode(data, where, max_size=max_size)
    if not isinstance(doc, dict):
        raise DocumentError(f"{where}: not an SBOM (expected a JSON object)")
    if doc.get("bomFormat") == "CycloneDX":
        return _cyclonedx(json_doc.convert(doc, _CycloneDX, where), path)
    if "spdxVersion" in doc:
        return _spdx(json_doc.convert(doc, _Spdx, where), path)
    if "schema_version" in doc and "artifact" in doc:
        return _report(json_doc.convert(doc, _Report, where), path)
    raise DocumentError(f"{where}: not an SBOM: neither CycloneDX (bomFormat), SPDX "
                        "(spdxVersion) nor a Portcullis JSON report (schema_version)")


class _Purl:
    """The parts of a purl the matcher needs; an unreadable purl is no purl."""

    def __init__(self, text: str | None) -> None:
        from packageurl import PackageURL

        self.text = text
        self.type: str | None = None
        self.namespace: str | None = None
        self.name: str | None = None
        self.qualifiers: dict[str, str] = {}
        if not text:
            return
        try:
            purl = PackageURL.from_string(text)
        except ValueError:
            self.text = None
            return
        self.type, self.namespace, self.name = purl.type, purl.namespace, purl.name
        qualifiers: Any = purl.qualifiers
        self.qualifiers = dict(qualifiers) if isinstance(qualifiers, dict) else {}

    def package_type(self) -> str | None:
        return PURL_TYPES.get(self.type or "", self.type)

    def upstream(self) -> tuple[str | None, str | None]:
        """The source package the ``upstream`` qualifier names: ``src`` or ``src@version``."""
        value = self.qualifiers.get("upstream")
        if not value:
            return None, None
        name, _, version = value.partition("@")
        return name or None, version or None

    def distro(self) -> Distro | None:
        """``distro=debian-12`` (or ``alpine-3.19.1``) with the purl's namespace as family."""
        value = self.qualifiers.get("distro")
        if not value or self.type not in ("deb", "apk", "rpm"):
            return None
        family, sep, version = value.rpartition("-")
        if not sep or not family:
            return None
        return Distro(family=family, name=family, version=version)


def _package(name: str, version: str, purl: _Purl, *, type_: str | None = None,
             source_name: str | None = None, source_version: str | None = None,
             path: str | None = None) -> Package | None:
    kind = type_ or purl.package_type()
    if not kind or not version:
        return None  # nothing to match: no version, or no idea what kind of package
    if kind == "java-archive" and purl.type == "maven" and purl.namespace and purl.name:
        name = f"{purl.namespace}:{purl.name}"  # OSV names Maven packages group:artifact
    up_name, up_version = purl.upstream()
    source_name = source_name or up_name
    source_version = source_version or up_version
    if kind == "deb" and source_name and not source_version:
        source_version = version  # dpkg: a Source field without a version means the same one
    return Package(name=name, version=version, type=kind, purl=purl.text,
                   locations=(Location(path=path),) if path else (), found_by="sbom",
                   source_name=source_name, source_version=source_version)


def _first_distro(packages: list[tuple[Package, _Purl]]) -> Distro | None:
    for _, purl in packages:
        distro = purl.distro()
        if distro is not None:
            return distro
    return None


def _walk(components: list[_Component]) -> list[_Component]:
    out: list[_Component] = []
    for component in components:
        out.append(component)
        out.extend(_walk(component.components))
    return out


def _cyclonedx(bom: _CycloneDX, path: Path) -> Inventory:
    if bom.specVersion not in CYCLONEDX_VERSIONS:
        raise DocumentError(f"{path}: CycloneDX {bom.specVersion} is not read (only "
                            f"{', '.join(CYCLONEDX_VERSIONS)})")
    distro: Distro | None = None
    found: list[tuple[Package, _Purl]] = []
    roots = [bom.metadata.component] if bom.metadata and bom.metadata.component else []
    for component in _walk([*roots, *bom.components]):
        if component.type == "operating-system":
            distro = distro or Distro(family=component.name.lower(), name=component.name,
                                      version=component.version or None)
            continue
        if component.type in ("container", "application") and component.purl is None:
            continue
        props = {p.name: p.value for p in component.properties}
        purl = _Purl(component.purl)
        package = _package(component.name, component.version or "", purl,
                           type_=props.get("portcullis:package:type"),
                           source_name=props.get("portcullis:package:source_name"),
                           source_version=props.get("portcullis:package:source_version"),
                           path=props.get("portcullis:path"))
        if package is not None and package.type != "oci":
            found.append((package, purl))
    return Inventory(path, "cyclonedx", tuple(p for p, _ in found),
                     distro or _first_distro(found))


def _spdx(doc: _Spdx, path: Path) -> Inventory:
    if doc.spdxVersion not in SPDX_VERSIONS:
        raise DocumentError(f"{path}: {doc.spdxVersion} is not read (only "
                            f"{', '.join(SPDX_VERSIONS)})")
    distro: Distro | None = None
    found: list[tuple[Package, _Purl]] = []
    for entry in doc.packages:
        if entry.primaryPackagePurpose == "OPERATING-SYSTEM":
            distro = distro or Distro(family=entry.name.lower(), name=entry.name,
                                      version=entry.versionInfo or None)
            continue
        if entry.primaryPackagePurpose == "CONTAINER":
            continue
        locator = next((r.referenceLocator for r in entry.externalRefs
                        if r.referenceType == "purl"), None)
        purl = _Purl(locator)
        source = _SPDX_SOURCE.search(entry.sourceInfo or "")
        package = _package(entry.name, entry.versionInfo or "", purl,
                           source_name=source.group("name") if source else None,
                           source_version=source.group("version") if source else None)
        if package is not None:
            found.append((package, purl))
    return Inventory(path, "spdx", tuple(p for p, _ in found), distro or _first_distro(found))


def _report(doc: _Report, path: Path) -> Inventory:
    os = doc.artifact.os
    distro = None
    if os is not None:
        distro = Distro(family=os.family, name=os.name or os.family, version=os.version,
                        version_codename=os.codename, pretty_name=os.pretty_name)
    found: list[tuple[Package, _Purl]] = []
    for entry in doc.packages:
        purl = _Purl(entry.purl)
        package = _package(entry.name, entry.version, purl, type_=entry.type,
                           source_name=entry.source_name, path=entry.path)
        if package is not None:
            found.append((package, purl))
    return Inventory(path, "portcullis", tuple(p for p, _ in found),
                     distro or _first_distro(found))
