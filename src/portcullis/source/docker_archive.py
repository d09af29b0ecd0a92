"""``docker save`` / ``podman save`` tarballs, in all three layouts Docker has written.

- legacy (Docker < 25): ``<id>/layer.tar`` files, ``<config-hex>.json``;
- skopeo: ``<diff_id-hex>.tar`` at the top with ``<id>/layer.tar`` symlinks to them;
- modern (Docker >= 25): an OCI layout inside the tar, ``manifest.json`` pointing into blobs/.

All three carry ``manifest.json``, which is what we read; the tarball may itself be gzipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from portcullis.errors import ConfigError, NotFoundError, SourceError
from portcullis.model.blob import Reader
from portcullis.model.digest import Digest
from portcullis.model.image import ImageConfig, ImageInfo, LayerRef
from portcullis.model.json_doc import convert
from portcullis.source.archive import BlobStore, DirStore, open_store
from portcullis.source.base import ImageBase, SourceOptions
from portcullis.source.manifest import load_json
from portcullis.source.reference import ImageReference
from portcullis.source.verify import VerifyingReader

_BLOB_PATH = re.compile(r"(?:^|/)(?:blobs/)?(sha256)[/:]([0-9a-f]{64})$|^([0-9a-f]{64})\.tar$")


class DockerArchiveImage(ImageBase):
    def __init__(
        self, store: BlobStore, info: ImageInfo, paths: list[str], options: SourceOptions
    ) -> None:
        super().__init__()
        self._store = store
        self._paths = paths
        self._options = options
        self.info = info
        self.on_close(store.close)
        # Each layer is its own file: threads may read several at once (see
        # analyze/blob_hashes.py). Members of one tar share its file handle: they may not.
        self.concurrent_reads = isinstance(store, DirStore)

    def open_layer(self, layer: LayerRef) -> Reader:
        path = self._paths[layer.index]
        expected = _digest_from_path(path)
        return VerifyingReader(
            self._store.open(path),
            expected,
            what=f"{self._store.where}: layer {layer.index} ({path})",
            size_limit=self._options.limits.max_layer_size,
            expected_size=layer.size,
        )


def _digest_from_path(path: str) -> Digest | None:
    m = _BLOB_PATH.search(path)
    if not m:
        return None
    hx = m.group(2) or m.group(3)
    return Digest("sha256", hx)


class _Entry(msgspec.Struct):
    """One image in ``manifest.json``; other fields (Parent, LayerSources) are ignored."""

    Config: str
    Layers: list[str]
    RepoTags: list[str] | None = None


def decode_manifest_json(data: bytes, where: str) -> list[_Entry]:
    """The entries of ``manifest.json``; any other shape is a DocumentError naming the field."""
    return convert(load_json(data, where), list[_Entry], where)


def _pick_entry(entries: list[_Entry], ref_name: str | None, where: str) -> _Entry:
    valid = entries
    if not valid:
        raise SourceError(f"{where}: manifest.json lists no images")
    if ref_name:
        for entry in valid:
            tags = entry.RepoTags or []
            if any(t == ref_name or t.endswith("/" + ref_name) or t.split(":")[-1] == ref_name
                   for t in tags):
                return entry
        raise NotFoundError(f"{where}: no image tagged {ref_name!r}")
    if len(valid) > 1:
        tags = sorted(t for e in valid for t in (e.RepoTags or []))
        raise ConfigError(
            f"{where}: holds {len(valid)} images; pick one with :TAG ({', '.join(tags)})"
        )
    return valid[0]


def open_docker_archive(ref: ImageReference, options: SourceOptions) -> DockerArchiveImage:
    if ref.path is None:
        raise ConfigError(f"{ref.text}: missing path")
    return open_docker_archive_path(ref.path, ref.text, options, ref_name=ref.ref_name)


def open_docker_archive_path(
    path: Path,
    reference: str,
    options: SourceOptions,
    *,
    ref_name: str | None = None,
    source: str = "docker-archive",
) -> DockerArchiveImage:
    store = open_store(path, options)
    try:
        return _open(store, reference, options, ref_name, source)
    except BaseException:
        store.close()
        raise


def _open(
    store: BlobStore, reference: str, options: SourceOptions, ref_name: str | None, source: str
) -> DockerArchiveImage:
    limit = options.limits.max_metadata_size
    if not store.exists("manifest.json"):
        raise SourceError(f"{store.where}: not a docker-archive (no manifest.json)")
    where = f"{store.where}: manifest.json"
    entries = decode_manifest_json(store.read("manifest.json", limit), where)
    entry = _pick_entry(entries, ref_name, store.where)
    config_path = entry.Config
    config_bytes = store.read(config_path, limit)
    config_digest = Digest.of_bytes(config_bytes)
    named = _digest_from_path(config_path) or _config_name_digest(config_path)
    if named is not None and named != config_digest:
        raise SourceError(f"{store.where}: config {config_path} does not match its digest")
    config_where = f"{store.where}: {config_path}"
    config = ImageConfig.from_json(load_json(config_bytes, config_where), config_where)
    paths = list(entry.Layers)
    if len(paths) != len(config.diff_ids):
        raise SourceError(
            f"{store.where}: manifest.json lists {len(paths)} layers, "
            f"the config {len(config.diff_ids)} diff_ids"
        )
    commands = config.layer_commands()
    layers = []
    for i, p in enumerate(paths):
        if not store.exists(p):
            raise NotFoundError(f"{store.where}: missing layer blob {p}")
        digest = _digest_from_path(p)
        layers.append(
            LayerRef(
                index=i,
                diff_id=config.diff_ids[i],
                # Without a content address in the path the blob is the uncompressed tar
                # (legacy layout), so its digest is the diff_id; the layer reader verifies it.
                digest=str(digest) if digest else config.diff_ids[i],
                size=store.size(p),
                created_by=commands[i],
            )
        )
    tags = tuple(entry.RepoTags or ())
    info = ImageInfo(
        reference=reference,
        source=source,
        manifest_digest=None,
        config_digest=str(config_digest),
        config=config,
        layers=tuple(layers),
        repo_tags=tags,
    )
    return DockerArchiveImage(store, info, paths, options)


def _config_name_digest(path: str) -> Digest | None:
    m = re.search(r"(?:^|/)([0-9a-f]{64})\.json$", path)
    return Digest("sha256", m.group(1)) if m else None
