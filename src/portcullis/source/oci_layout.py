"""OCI image layouts: ``oci:DIR[:REF]`` and ``oci-archive:PATH[:REF]``."""

from __future__ import annotations

from portcullis.errors import ConfigError, DigestMismatchError, NotFoundError, SourceError
from portcullis.model.blob import Reader
from portcullis.model.digest import Digest
from portcullis.model.image import ImageInfo, LayerRef, Platform
from portcullis.source.archive import BlobStore, DirStore, open_store
from portcullis.source.base import ImageBase, SourceOptions
from portcullis.source.manifest import (
    REF_NAME,
    Descriptor,
    Index,
    Manifest,
    image_info,
    parse_document,
    select_platform,
)
from portcullis.source.reference import ImageReference
from portcullis.source.verify import VerifyingReader

_MAX_NESTING = 4


class LayoutImage(ImageBase):
    def __init__(self, store: BlobStore, info: ImageInfo, options: SourceOptions) -> None:
        super().__init__()
        self._store = store
        self._options = options
        self.info = info
        self.on_close(store.close)
        # Each layer is its own file: threads may read several at once (see
        # analyze/blob_hashes.py). Members of one tar share its file handle: they may not.
        self.concurrent_reads = isinstance(store, DirStore)

    def open_layer(self, layer: LayerRef) -> Reader:
        if layer.digest is None:
            raise SourceError(f"{self._store.where}: layer {layer.index} has no digest")
        digest = Digest.parse(layer.digest)
        raw = self._store.open(blob_path(digest))
        return VerifyingReader(
            raw,
            digest,
            what=f"{self._store.where}: layer {layer.index} ({digest.short})",
            size_limit=self._options.limits.max_layer_size,
            expected_size=layer.size,
        )


def blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.hex}"


def read_blob(store: BlobStore, desc: Descriptor, limit: int) -> bytes:
    """Read a small blob (manifest, index, config) and check its digest."""
    path = blob_path(desc.digest)
    if not store.exists(path):
        raise NotFoundError(f"{store.where}: missing blob {desc.digest}")
    data = store.read(path, limit)
    got = Digest.of_bytes(data, desc.digest.algorithm)
    if got != desc.digest:
        raise DigestMismatchError(
            f"{store.where}: blob {desc.digest} has digest {got} (corrupt layout)"
        )
    return data


def _ref_matches(desc: Descriptor, ref: str) -> bool:
    name = desc.annotations.get(REF_NAME)
    if name is None:
        return False
    # skopeo and buildah store either "tag" or a full "name:tag".
    return name == ref or name.rsplit(":", 1)[-1] == ref or name.endswith("/" + ref)


def _pick_top(index: Index, ref: str | None, wanted: Platform, where: str) -> Descriptor:
    entries = list(index.manifests)
    if not entries:
        raise NotFoundError(f"{where}: index.json lists no images")
    if ref is not None:
        named = [d for d in entries if _ref_matches(d, ref)]
        if not named:
            names = sorted({d.annotations.get(REF_NAME, "?") for d in entries})
            raise NotFoundError(f"{where}: no image named {ref!r} (found: {', '.join(names)})")
        entries = named
    if len(entries) == 1:
        return entries[0]
    if all(d.platform is not None for d in entries):
        subset = Index(manifests=tuple(entries), media_type=None, annotations={})
        return select_platform(subset, wanted, where)
    names = sorted({d.annotations.get(REF_NAME, str(d.digest)) for d in entries})
    raise ConfigError(f"{where}: holds several images; pick one with :REF ({', '.join(names)})")


def resolve_manifest(
    store: BlobStore, top: Descriptor, options: SourceOptions
) -> tuple[Descriptor, Manifest]:
    """Follow nested indexes down to one image manifest for the wanted platform."""
    desc = top
    limit = options.limits.max_metadata_size
    for _ in range(_MAX_NESTING):
        doc = parse_document(read_blob(store, desc, limit), f"{store.where}: {desc.digest}",
                             desc.media_type)
        if isinstance(doc, Manifest):
            return desc, doc
        desc = select_platform(doc, options.wanted_platform(), store.where)
    raise SourceError(f"{store.where}: image indexes nested too deeply")


def open_oci(ref: ImageReference, options: SourceOptions) -> LayoutImage:
    if ref.path is None:
        raise ConfigError(f"{ref.text}: missing path")
    store = open_store(ref.path, options)
    try:
        return _open_in_store(store, ref, options)
    except BaseException:
        store.close()
        raise


def _open_in_store(store: BlobStore, ref: ImageReference, options: SourceOptions) -> LayoutImage:
    limit = options.limits.max_metadata_size
    if not store.exists("index.json"):
        raise SourceError(f"{store.where}: not an OCI image layout (no index.json)")
    index = parse_document(store.read("index.json", limit), f"{store.where}: index.json")
    if not isinstance(index, Index):
        raise SourceError(f"{store.where}: index.json is not an image index")
    top = _pick_top(index, ref.ref_name, options.wanted_platform(), store.where)
    manifest_desc, manifest = resolve_manifest(store, top, options)
    config = read_blob(store, manifest.config, limit)
    info = image_info(ref.text, ref.scheme, str(manifest_desc.digest), manifest, config,
                      store.where)
    return LayoutImage(store, info, options)
