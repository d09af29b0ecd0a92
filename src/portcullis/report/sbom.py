"""What the SBOM writers (CycloneDX, SPDX) share: the document's identity and time, the
image's name as a purl, package order and keys. Pure functions of the report, so the same
report always gives the same SBOM."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

from portcullis.errors import ConfigError
from portcullis.model.image import ImageInfo, LayerRef
from portcullis.model.package import Package
from portcullis.model.reference import parse_registry_ref
from portcullis.model.report import Report

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/portcullis/portcullis/sbom")


def report_fingerprint(report: Report) -> str:
    """sha256 hex of the report's canonical JSON: same report, same SBOM identity."""
    text = json.dumps(report.to_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def report_uuid(report: Report) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, report_fingerprint(report))


def created_utc(report: Report) -> datetime:
    """``report.created_at`` in UTC, whole seconds (naive values are taken as UTC)."""
    created = report.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC).replace(microsecond=0)


def sorted_packages(report: Report) -> list[Package]:
    return sorted(report.packages, key=lambda p: (*p.sort_key(), p.purl or "",
                                                  p.introduced_in if p.introduced_in is not None
                                                  else -1))


def layer_of(report: Report, index: int | None) -> LayerRef | None:
    if index is None:
        return None
    for layer in report.image.layers:
        if layer.index == index:
            return layer
    return None


def image_digest(info: ImageInfo) -> str | None:
    """The digest naming the image: the config digest (image ID) or else the manifest's."""
    return info.config_digest or info.manifest_digest


def _image_name(info: ImageInfo) -> tuple[str, str | None, str | None]:
    """(purl name, repository_url, tag) for the image, best effort."""
    candidates: list[str] = []
    scheme, sep, body = info.reference.partition(":")
    if info.source in ("registry", "docker-daemon"):
        candidates.append(body if sep and scheme in ("registry", "docker-daemon")
                          else info.reference)
    candidates.extend(info.repo_tags)
    ref_name = info.annotations.get("org.opencontainers.image.ref.name")
    for text in candidates:
        try:
            ref = parse_registry_ref(text)
        except ConfigError:
            continue
        name = ref.repository.rsplit("/", 1)[-1]
        return name, f"{ref.registry}/{ref.repository}", ref.tag
    # A path-based reference (oci:DIR[:REF], docker-archive:PATH, dir:PATH): the base name.
    target = body if sep and scheme in ("oci", "oci-archive", "docker-archive", "dir") \
        else info.reference
    if info.source in ("oci", "oci-archive") and target.count(":") >= 1:
        target, _, tag = target.rpartition(":")
        ref_name = ref_name or tag or None
    base = target.rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".tar.gz", ".tgz", ".tar"):
        base = base.removesuffix(suffix)
    return (base or "image").lower(), None, ref_name


def image_purl(info: ImageInfo) -> str | None:
    """``pkg:oci/<name>@<digest>`` (manifest digest preferred) or None without a digest."""
    from packageurl import PackageURL

    digest = info.manifest_digest or info.config_digest
    if not digest:
        return None
    name, repository_url, tag = _image_name(info)
    qualifiers: dict[str, str] = {"arch": info.platform.architecture}
    if repository_url:
        qualifiers["repository_url"] = repository_url
    if tag:
        qualifiers["tag"] = tag
    return str(PackageURL(type="oci", name=name, version=digest, qualifiers=qualifiers))


def package_key(package: Package) -> str:
    """A stable hash of what identifies one package record."""
    parts = [package.type, package.name, package.version, package.purl or "",
             *(loc.path for loc in package.locations),
             "" if package.introduced_in is None else str(package.introduced_in)]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
