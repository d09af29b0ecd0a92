"""OCI / Docker manifest and index documents: parsing and platform selection.

Shared by the OCI layout reader and the registry client; neither media type nor the
optional ``mediaType`` field is required (umoci omits it), the shape of the document decides.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from portcullis.errors import ConfigError, DocumentError, NotFoundError, SourceError
from portcullis.model import json_doc
from portcullis.model.digest import Digest
from portcullis.model.image import ImageConfig, ImageInfo, Platform, build_layers
from portcullis.model.json_doc import MAX_SIZE, convert

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ALL_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
REF_NAME = "org.opencontainers.image.ref.name"


class Descriptor(msgspec.Struct, frozen=True, kw_only=True):
    media_type: str | None
    digest: Digest
    size: int | None
    platform: Platform | None = None
    annotations: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Descriptor:
        return cls.from_wire(convert(doc, _DescriptorDoc, where), where)

    @classmethod
    def from_wire(cls, wire: _DescriptorDoc, where: str, path: str = "") -> Descriptor:
        """``path`` locates the descriptor inside its document, e.g. ``manifests[2]``."""
        try:
            digest = Digest.parse(wire.digest)
        except ConfigError as e:
            raise DocumentError(f"{where}: {path}{'.' if path else ''}digest: {e}") from e
        plat = wire.platform
        platform = None
        if plat is not None and plat.architecture:
            platform = Platform(
                os=plat.os or "linux", architecture=plat.architecture, variant=plat.variant or None
            )
        return cls(
            media_type=wire.mediaType,
            digest=digest,
            size=wire.size,
            platform=platform,
            annotations=dict(wire.annotations or {}),
        )


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str | None
    annotations: dict[str, str]


class Index(msgspec.Struct, frozen=True, kw_only=True):
    manifests: tuple[Descriptor, ...]
    media_type: str | None
    annotations: dict[str, str]


# The documents as written (OCI image spec, Docker distribution spec). Unknown fields are
# ignored; the shape of every listed one is checked.


class _PlatformDoc(msgspec.Struct):
    architecture: str | None = None
    os: str | None = None
    variant: str | None = None


class _DescriptorDoc(msgspec.Struct):
    digest: str
    mediaType: str | None = None
    size: Annotated[int, msgspec.Meta(ge=0)] | None = None
    platform: _PlatformDoc | None = None
    annotations: dict[str, str] | None = None


class _Document(msgspec.Struct):
    """Manifest and index in one record: which one it is, the shape decides."""

    schemaVersion: int | None = None
    mediaType: str | None = None
    manifests: list[_DescriptorDoc] | None = None
    config: _DescriptorDoc | None = None
    layers: list[_DescriptorDoc] | None = None
    annotations: dict[str, str] | None = None


def load_json(data: bytes, where: str, *, max_size: int = MAX_SIZE) -> Any:
    """Any JSON value, within the size and nesting bounds (DocumentError otherwise)."""
    return json_doc.decode(data, where, max_size=max_size)


def parse_document(data: bytes, where: str, media_type: str | None = None) -> Manifest | Index:
    doc = load_json(data, where)
    if not isinstance(doc, dict):
        raise DocumentError(f"{where}: manifest is not a JSON object")
    if doc.get("mediaType") == DOCKER_V1_SIGNED or doc.get("schemaVersion") == 1:
        raise SourceError(f"{where}: Docker schema 1 manifests are not supported (deprecated)")
    wire = convert(doc, _Document, where)
    kind = wire.mediaType or media_type
    if kind == DOCKER_V1_SIGNED:
        raise SourceError(f"{where}: Docker schema 1 manifests are not supported (deprecated)")
    annotations = dict(wire.annotations or {})
    if wire.manifests is not None or kind in INDEX_TYPES:
        if wire.manifests is None:
            raise DocumentError(f"{where}: index without a manifests list")
        return Index(
            manifests=_descriptors(wire.manifests, where, "manifests"),
            media_type=kind,
            annotations=annotations,
        )
    if wire.config is not None and wire.layers is not None:
        return Manifest(
            config=Descriptor.from_wire(wire.config, where, "config"),
            layers=_descriptors(wire.layers, where, "layers"),
            media_type=kind,
            annotations=annotations,
        )
    raise DocumentError(f"{where}: neither an image manifest nor an index")


def _descriptors(docs: list[_DescriptorDoc], where: str, path: str) -> tuple[Descriptor, ...]:
    return tuple(Descriptor.from_wire(d, where, f"{path}[{i}]") for i, d in enumerate(docs))


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
        name = f"{where}: config {manifest.config.digest}"
        config = ImageConfig.from_json(load_json(config_bytes, name), name)
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
