"""One file as an OCI artifact in a registry: pushed under a tag, pulled back digest-checked.

The manifest is a plain OCI image manifest (what every registry stores, including those
that predate OCI 1.1 artifacts): a small JSON config of the caller's media type, and the file
as the single layer of the caller's layer media type; ``artifactType`` repeats the config type
for registries and tools that read it. Pulling checks the manifest's config type before
downloading anything, streams the layer to disk and verifies its digest and size.
Authentication, retries and error messages are ``RegistryClient``'s: the same as ``scan``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import ConfigError, SourceError
from portcullis.model.digest import Digest
from portcullis.model.reference import RegistryRef
from portcullis.source.base import SourceOptions
from portcullis.source.manifest import OCI_MANIFEST
from portcullis.source.registry import RegistryClient

_CHUNK = 1 << 20


class ArtifactKind(msgspec.Struct, frozen=True):
    config_type: str  # also the manifest's artifactType
    layer_type: str
    title: str  # what the file is, for messages ("vulnerability database")


def _file_digest(path: Path) -> tuple[Digest, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return Digest.parse(f"sha256:{digest.hexdigest()}"), size


def push_file(ref: RegistryRef, options: SourceOptions, path: Path, kind: ArtifactKind,
              config: dict[str, Any], annotations: dict[str, str]) -> Digest:
    """Upload ``path`` and a manifest under ``ref``'s tag; the manifest digest."""
    if ref.tag is None or ref.digest is not None:
        raise SourceError(f"{ref}: push needs a tag (REGISTRY/REPOSITORY:TAG), not a digest")
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest = Digest.of_bytes(config_bytes)
    layer_digest, layer_size = _file_digest(path)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": kind.config_type,
        "config": {"mediaType": kind.config_type, "digest": str(config_digest),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": kind.layer_type, "digest": str(layer_digest),
                    "size": layer_size,
                    "annotations": {"org.opencontainers.image.title": path.name}}],
        "annotations": annotations,
    }
    client = RegistryClient(ref, options)
    try:
        client.upload_blob(config_digest, config_bytes, "config")
        client.upload_blob(layer_digest, path, kind.title)
        return client.put_manifest(ref.tag, json.dumps(manifest).encode(), OCI_MANIFEST)
    finally:
        client.close()


def _layer(manifest: Any, ref: RegistryRef, kind: ArtifactKind) -> tuple[Digest, int]:
    where = f"{ref}"
    config = manifest.get("config") if isinstance(manifest, dict) else None
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if config_type != kind.config_type:
        raise SourceError(f"{where}: not a Portcullis {kind.title} (config media type "
                          f"{config_type or 'missing'}, expected {kind.config_type})")
    layers = [layer for layer in manifest.get("layers") or []
              if isinstance(layer, dict) and layer.get("mediaType") == kind.layer_type]
    if len(layers) != 1:
        raise SourceError(f"{where}: expected one {kind.layer_type} layer, found {len(layers)}")
    size = layers[0].get("size")
    if not isinstance(size, int) or size < 0:
        raise SourceError(f"{where}: the layer has no valid size")
    try:
        return Digest.parse(str(layers[0].get("digest"))), size
    except ConfigError as e:  # a malformed digest in someone else's manifest
        raise SourceError(f"{where}: the layer digest is not valid ({e})") from e


def pull_file(ref: RegistryRef, options: SourceOptions, dest: Path, kind: ArtifactKind,
              max_size: int) -> Digest:
    """Download the artifact's file to ``dest``, checked against its digest and size; the
    manifest digest."""
    client = RegistryClient(ref, options)
    try:
        data, _, manifest_digest = client.fetch_manifest(ref.reference,
                                                         Digest.parse(ref.digest)
                                                         if ref.digest else None)
        try:
            manifest = json.loads(data)
        except ValueError as e:
            raise SourceError(f"{ref}: the manifest is not JSON ({e})") from e
        digest, size = _layer(manifest, ref, kind)
        if size > max_size:
            raise SourceError(f"{ref}: the {kind.title} is {size} bytes, above the "
                              f"{max_size}-byte limit")
        _download(client, digest, size, dest, kind.title)
        return manifest_digest
    finally:
        client.close()


def _download(client: RegistryClient, digest: Digest, size: int, dest: Path,
              what: str) -> None:
    hasher = hashlib.new(digest.algorithm)
    got = 0
    response = client.open_blob(digest, what)
    try:
        with dest.open("wb") as out:
            for chunk in response.iter_bytes(_CHUNK):
                got += len(chunk)
                if got > size:
                    raise SourceError(f"{client.where}: {what} {digest}: more than the "
                                      f"{size} bytes the manifest gives")
                hasher.update(chunk)
                out.write(chunk)
    except OSError as e:
        raise SourceError(f"cannot write {dest}: {e.strerror or e}") from e
    finally:
        response.close()
    if got != size or hasher.hexdigest() != digest.hex:
        raise SourceError(f"{client.where}: {what} {digest}: the download does not match its "
                          f"digest and size ({got} bytes)")
