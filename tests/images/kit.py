"""Write small, exact test images with tarfile, hashlib and json.

Everything is deterministic (fixed mtimes, gzip mtime 0), so the same recipe gives the same
digests on every run. Used for byte-level cases real build tools cannot make on demand:
whiteouts, opaque dirs, odd members, symlink tricks, zstd layers, indexes, corrupt blobs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

MTIME = 1_700_000_000


@dataclass
class Entry:
    name: str
    kind: str = "file"  # file, dir, symlink, hardlink, char, block, fifo
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    linkname: str = ""

    def tarinfo(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.name)
        info.mtime = MTIME
        info.mode = self.mode
        info.uid, info.gid = self.uid, self.gid
        info.uname = info.gname = ""
        kinds = {
            "file": tarfile.REGTYPE,
            "dir": tarfile.DIRTYPE,
            "symlink": tarfile.SYMTYPE,
            "hardlink": tarfile.LNKTYPE,
            "char": tarfile.CHRTYPE,
            "block": tarfile.BLKTYPE,
            "fifo": tarfile.FIFOTYPE,
        }
        info.type = kinds[self.kind]
        info.linkname = self.linkname
        info.size = len(self.data) if self.kind == "file" else 0
        return info


def file(name: str, data: bytes | str = b"", mode: int = 0o644, uid: int = 0, gid: int = 0) -> Entry:
    raw = data.encode() if isinstance(data, str) else data
    return Entry(name, "file", raw, mode, uid, gid)


def directory(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(name, "dir", mode=mode, uid=uid, gid=gid)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, "symlink", mode=0o777, linkname=target)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, "hardlink", linkname=target)


def whiteout(path: str) -> Entry:
    parent, _, base = path.rstrip("/").rpartition("/")
    return Entry(f"{parent}/.wh.{base}" if parent else f".wh.{base}", "file")


def opaque(directory_path: str) -> Entry:
    return Entry(f"{directory_path.rstrip('/')}/.wh..wh..opq", "file")


@dataclass
class Layer:
    entries: list[Entry]
    compression: str = "gzip"  # gzip, zstd, none
    created_by: str = "RUN test"
    tar_override: bytes | None = None
    """Use these bytes as the layer's tar (for truncated or odd archives)."""
    blob_override: bytes | None = None
    """Use these bytes as the compressed blob (for corrupt compression)."""

    def tar_bytes(self) -> bytes:
        if self.tar_override is not None:
            return self.tar_override
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for e in self.entries:
                tar.addfile(e.tarinfo(), io.BytesIO(e.data) if e.kind == "file" else None)
        return buf.getvalue()

    def blob(self) -> bytes:
        if self.blob_override is not None:
            return self.blob_override
        raw = self.tar_bytes()
        if self.compression == "gzip":
            return gzip.compress(raw, compresslevel=6, mtime=0)
        if self.compression == "zstd":
            return zstandard.ZstdCompressor(level=3).compress(raw)
        return raw

    @property
    def media_type(self) -> str:
        suffix = {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[self.compression]
        return f"application/vnd.oci.image.layer.v1.tar{suffix}"


@dataclass
class ImageSpec:
    layers: list[Layer]
    architecture: str = "amd64"
    os: str = "linux"
    variant: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    empty_history: list[tuple[int, str]] = field(default_factory=list)
    """(position, created_by) of empty-layer history entries to insert, e.g. ENV or CMD."""
    annotations: dict[str, str] = field(default_factory=dict)

    def config_doc(self) -> dict[str, Any]:
        history: list[dict[str, Any]] = [
            {"created": "2023-11-14T22:13:20Z", "created_by": layer.created_by}
            for layer in self.layers
        ]
        for pos, cmd in sorted(self.empty_history, reverse=True):
            history.insert(
                pos, {"created": "2023-11-14T22:13:20Z", "created_by": cmd, "empty_layer": True}
            )
        doc: dict[str, Any] = {
            "architecture": self.architecture,
            "os": self.os,
            "created": "2023-11-14T22:13:20Z",
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": [sha(layer.tar_bytes()) for layer in self.layers]},
            "history": history,
        }
        if self.variant:
            doc["variant"] = self.variant
        return doc

    def config_bytes(self) -> bytes:
        return canonical(self.config_doc())

    @property
    def diff_ids(self) -> list[str]:
        return [sha(layer.tar_bytes()) for layer in self.layers]


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


class BlobSink:
    """Collects blobs by digest for an OCI layout."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, data: bytes) -> dict[str, Any]:
        digest = sha(data)
        self.blobs[digest] = data
        return {"digest": digest, "size": len(data)}


def oci_manifest(spec: ImageSpec, sink: BlobSink, media_type: bool = True) -> dict[str, Any]:
    config = sink.add(spec.config_bytes())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    layers = []
    for layer in spec.layers:
        desc = sink.add(layer.blob())
        desc["mediaType"] = layer.media_type
        layers.append(desc)
    doc: dict[str, Any] = {"schemaVersion": 2, "config": config, "layers": layers}
    if media_type:
        doc["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    if spec.annotations:
        doc["annotations"] = spec.annotations
    return doc


def layout_files(images: list[tuple[ImageSpec, str | None]], *, as_index: bool = False) -> dict[str, bytes]:
    """The files of an OCI layout holding ``images`` (each with an optional ref name).

    With ``as_index`` the images are put into one nested image index (multi-platform), which
    index.json then points at.
    """
    sink = BlobSink()
    descs = []
    for spec, ref in images:
        man = sink.add(canonical(oci_manifest(spec, sink)))
        man["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
        if as_index:
            man["platform"] = {"architecture": spec.architecture, "os": spec.os}
            if spec.variant:
                man["platform"]["variant"] = spec.variant
        if ref and not as_index:
            man["annotations"] = {"org.opencontainers.image.ref.name": ref}
        descs.append(man)
    if as_index:
        nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descs}
        idx = sink.add(canonical(nested))
        idx["mediaType"] = "application/vnd.oci.image.index.v1+json"
        ref = images[0][1]
        if ref:
            idx["annotations"] = {"org.opencontainers.image.ref.name": ref}
        descs = [idx]
    files = {
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
        "index.json": canonical({"schemaVersion": 2, "manifests": descs}),
    }
    for digest, data in sink.blobs.items():
        alg, hx = digest.split(":")
        files[f"blobs/{alg}/{hx}"] = data
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_tar(path: Path, files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(files[name]))
        for name, target in sorted((symlinks or {}).items()):
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mtime = MTIME
            tar.addfile(info)
    return path


def write_oci_layout(root: Path, spec: ImageSpec, ref: str | None = "latest") -> Path:
    return write_tree(root, layout_files([(spec, ref)]))


def write_oci_archive(path: Path, spec: ImageSpec, ref: str | None = "latest") -> Path:
    return write_tar(path, layout_files([(spec, ref)]))


def docker_archive_files(
    spec: ImageSpec, repo_tag: str = "example/app:latest", style: str = "modern"
) -> tuple[dict[str, bytes], dict[str, str]]:
    """Files (and symlinks) of a ``docker save`` tarball.

    styles: ``legacy`` (``<id>/layer.tar``, Docker < 25), ``skopeo`` (``<diff_id>.tar`` plus
    ``<id>/layer.tar`` symlinks), ``modern`` (Docker >= 25: OCI blobs plus manifest.json).
    """
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    config = spec.config_bytes()
    config_hex = hashlib.sha256(config).hexdigest()
    layer_paths = []
    for i, layer in enumerate(spec.layers):
        tar = layer.tar_bytes() if style != "modern" else layer.blob()
        hx = hashlib.sha256(tar).hexdigest()
        if style == "legacy":
            lid = hashlib.sha256(f"{i}{hx}".encode()).hexdigest()
            path = f"{lid}/layer.tar"
            files[path] = tar
            files[f"{lid}/VERSION"] = b"1.0"
            files[f"{lid}/json"] = canonical({"id": lid})
        elif style == "skopeo":
            path = f"{hx}.tar"
            files[path] = tar
            lid = hashlib.sha256(f"{i}{hx}".encode()).hexdigest()
            links[f"{lid}/layer.tar"] = f"../{hx}.tar"
            files[f"{lid}/VERSION"] = b"1.0"
        else:
            path = f"blobs/sha256/{hx}"
            files[path] = tar
        layer_paths.append(path)
    config_path = f"blobs/sha256/{config_hex}" if style == "modern" else f"{config_hex}.json"
    files[config_path] = config
    files["manifest.json"] = canonical(
        [{"Config": config_path, "RepoTags": [repo_tag] if repo_tag else [], "Layers": layer_paths}]
    )
    if style == "modern":
        oci = layout_files([(spec, repo_tag)])
        for name, data in oci.items():
            files.setdefault(name, data)
    return files, links


def write_docker_archive(
    path: Path,
    spec: ImageSpec,
    repo_tag: str = "example/app:latest",
    style: str = "modern",
    gzip_whole: bool = False,
) -> Path:
    files, links = docker_archive_files(spec, repo_tag, style)
    write_tar(path, files, links)
    if gzip_whole:
        data = path.read_bytes()
        path.write_bytes(gzip.compress(data, mtime=0))
    return path


def sample_image() -> ImageSpec:
    """A three-layer Alpine-like image with a deletion and an opaque dir; used widely."""
    base = Layer(
        [
            directory("etc"),
            file("etc/os-release", 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n'
                 'PRETTY_NAME="Alpine Linux v3.19"\n'),
            file("etc/alpine-release", "3.19.1\n"),
            file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            directory("usr"),
            directory("usr/bin"),
            file("usr/bin/tool", b"\x7fELF" + b"\0" * 60, mode=0o755),
            directory("opt"),
            directory("opt/cache"),
            file("opt/cache/a.txt", "a"),
            file("opt/cache/b.txt", "b"),
            file("tmp-secret", "password=hunter2\n"),
        ],
        created_by="ADD rootfs.tar.gz / # buildkit",
    )
    app = Layer(
        [
            directory("app"),
            file("app/main.py", "print('hello')\n"),
            whiteout("tmp-secret"),
            opaque("opt/cache"),
            file("opt/cache/c.txt", "c"),
            symlink("app/current", "/app/main.py"),
            hardlink("app/main-link.py", "app/main.py"),
        ],
        compression="zstd",
        created_by="COPY app /app # buildkit",
    )
    last = Layer([file("app/main.py", "print('hello, world')\n")], compression="none",
                 created_by="RUN sed -i s/hello/hello,world/ /app/main.py")
    return ImageSpec(
        layers=[base, app, last],
        config={
            "User": "1000",
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["python", "/app/main.py"],
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "sample"},
            "WorkingDir": "/app",
        },
        empty_history=[(1, 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
                       (4, 'CMD ["python", "/app/main.py"]')],
    )


def write_top_changed(layout: Path, ref: str, out: Path, name: str, data: bytes) -> str:
    """A copy of the OCI layout whose top layer holds one more file, ``name`` (a rebuilt
    application layer: every other entry byte for byte as it was); the other blobs are hard
    links to the original's (copies across filesystems). Returns its ``oci:`` reference."""
    index = json.loads((layout / "index.json").read_bytes())
    [desc] = [d for d in index["manifests"]
              if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]

    def blob(digest: str) -> Path:
        return layout / "blobs" / digest.replace(":", "/")

    manifest = json.loads(blob(desc["digest"]).read_bytes())
    config = json.loads(blob(manifest["config"]["digest"]).read_bytes())
    blobs = out / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for layer in manifest["layers"][:-1]:
        target = blobs / layer["digest"].split(":")[1]
        try:
            os.link(blob(layer["digest"]), target)
        except OSError:
            shutil.copyfile(blob(layer["digest"]), target)
    raw = blob(manifest["layers"][-1]["digest"]).read_bytes()
    old_tar = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(old_tar), mode="r:") as src, \
            tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        dst.addfile(file(name, data).tarinfo(), io.BytesIO(data))
    new_tar = buf.getvalue()

    def put(data: bytes) -> dict[str, Any]:
        (blobs / sha(data).split(":")[1]).write_bytes(data)
        return {"digest": sha(data), "size": len(data)}

    config["rootfs"]["diff_ids"][-1] = sha(new_tar)
    manifest["config"] = {**manifest["config"], **put(canonical(config))}
    manifest["layers"][-1] = {**manifest["layers"][-1],
                              **put(gzip.compress(new_tar, compresslevel=1, mtime=0)),
                              "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
    (out / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    (out / "index.json").write_bytes(canonical({"schemaVersion": 2, "manifests": [
        {**desc, **put(canonical(manifest))}]}))
    return f"oci:{out}:{ref}"
