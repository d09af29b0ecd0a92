"""OCI / Docker manifest and index documents: parsing and platform selection.

Shared by the OCI layout reader and the registry client; neither media type nor the
optional ``mediaType`` field is required (umoci omits it), the shape of the document decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from portcullis.errors import ConfigError, NotFoundError, SourceError
from portcullis.model.digest import Digest
from portcullis.model.image import ImageConfig, ImageInfo, Platform, build_layers

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ALL_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True, slots=True, kw_only=True)
class Descriptor:
    media_type: str | None
    digest: Digest
    size: int | None
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Descriptor:
        if not isinstance(doc, dict) or "digest" not in doc:
            raise SourceError(f"{where}: descriptor without a digest")
        try:
            digest = Digest.parse(str(doc["digest"]))
        except ConfigError as e:
            raise SourceError(f"{where}: {e}") from e
        plat = doc.get("platform")
        platform = None
        if isinstance(plat, dict) and plat.get("architecture"):
            platform = Platform(
                os=str(plat.get("os") or "linux"),
                architecture=str(plat["architecture"]),
                variant=plat.get("variant") or None,
            )
        size = doc.get("size")
        return cls(
            media_type=doc.get("mediaType"),
            digest=digest,
            size=int(size) if isinstance(size, int) else None,
            platform=platform,
            annotations={str(k): str(v) for k, v in (doc.get("annotations") or {}).items()},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str | None
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    manifests: tuple[Descriptor, ...]
    media_type: str | None
    annotations: dict[str, str]


def load_json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise SourceError(f"{where}: not valid JSON ({e.__class__.__name__})") from e


def parse_document(data: bytes, where: str, media_type: str | None = None) -> Manifest | Index:
    doc = load_json(data, where)
    if not isinstance(doc, dict):
        raise SourceError(f"{where}: manifest is not a JSON object")
    kind = doc.get("mediaType") or media_type
    if kind == DOCKER_V1_SIGNED or doc.get("schemaVersion") == 1:
        raise SourceError(f"{where}: Docker schema 1 manifests are not supported (deprecated)")
    annotations = {str(k): str(v) for k, v in (doc.get("annotations") or {}).items()}
    if "manifests" in doc or kind in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise SourceError(f"{where}: index without a manifests list")
        return Index(
            manifests=tuple(Descriptor.from_json(m, where) for m in entries),
            media_type=kind,
            annotations=annotations,
        )
    if "config" in doc and "layers" in doc:
        layers = doc["layers"]
        if not isinstance(layers, list):
            raise SourceError(f"{where}: manifest layers is not a list")
        return Manifest(
            config=Descriptor.from_json(doc["config"], where),
            layers=tuple(Descriptor.from_json(layer, where) for layer in layers),
            media_type=kind,
            annotations=annotations,
        )
    raise SourceError(f"{where}: neither an image manifest nor an index")


def is_attestation(desc: Descriptor) -> bool:
    """BuildKit stores provenance/SBOM attestations as 'unknown/unknown' manifests."""
    plat = desc.platform
    return bool(
        desc.annotations.get("vnd.docker.reference.type") == "attestation-manifest"
        or (plat is not None and plat.os == "unknown" and plat.architecture == "unknown")
    )


def select_platform(index: Index, wanted: Platform, where: str) -> Descriptor:
    """Pick the index entry for ``wanted``; entries without a platform match any request."""
    candidates = [m for m in index.manifests if not is_attestation(m)]
    if not candidates:
        raise NotFoundError(f"{where}: the index lists no image manifests")
    exact = [m for m in candidates if m.platform and m.platform.matches(wanted)]
    if exact:
        # Prefer an exact variant over a variant-less entry.
        exact.sort(key=lambda m: 0 if (m.platform and m.platform.variant == wanted.variant) else 1)
        return exact[0]
    unplatformed = [m for m in candidates if m.platform is None]
    if len(unplatformed) == 1 and len(candidates) == 1:
        return unplatformed[0]
    available = sorted({str(m.platform) for m in candidates if m.platform}) or ["(unspecified)"]
    raise NotFoundError(
        f"{where}: no image for platform {wanted} (available: {', '.join(available)})"
    )


def image_info(
    reference: str,
    source: str,
    manifest_digest: str | None,
    manifest: Manifest,
    config_bytes: bytes,
    where: str,
) -> ImageInfo:
    """Pair a manifest with its config: the ImageInfo every manifest-based source returns."""
    try:
        config = ImageConfig.from_json(load_json(config_bytes, f"{where}: config"))
        layers = build_layers(
            config,
            [str(d.digest) for d in manifest.layers],
            [d.size for d in manifest.layers],
            [d.media_type for d in manifest.layers],
        )
    except ConfigError as e:
        raise SourceError(f"{where}: {e}") from e
    return ImageInfo(
        reference=reference,
        source=source,
        manifest_digest=manifest_digest,
        config_digest=str(manifest.config.digest),
        config=config,
        layers=layers,
        annotations=dict(manifest.annotations),
    )
