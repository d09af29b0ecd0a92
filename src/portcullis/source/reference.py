"""Parse the image reference forms of CONTRACT.md §2."""

from __future__ import annotations

import stat
from pathlib import Path

import msgspec

from portcullis.errors import ConfigError
from portcullis.model.reference import RegistryRef, parse_registry_ref
from portcullis.source.archive import stat_path

SCHEMES = ("docker-archive", "oci-archive", "oci", "docker-daemon", "registry", "dir")


class ImageReference(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed reference: which source, and what it points at."""

    scheme: str
    text: str
    path: Path | None = None
    ref_name: str | None = None
    name: str | None = None
    registry: RegistryRef | None = None


def _split_path_ref(body: str) -> tuple[Path, str | None]:
    """``DIR[:REF]`` where DIR may itself contain colons only if it exists as given."""
    if Path(body).exists() or ":" not in body:
        return Path(body), None
    path, ref = body.rsplit(":", 1)
    return Path(path), (ref or None)


def parse_reference(text: str) -> ImageReference:
    if not text or not text.strip():
        raise ConfigError("empty image reference")
    scheme, sep, body = text.partition(":")
    if sep and scheme in SCHEMES:
        if not body:
            raise ConfigError(f"{scheme}: reference needs a target, got {text!r}")
        if scheme == "registry":
            return ImageReference(scheme=scheme, text=text, registry=parse_registry_ref(body))
        if scheme == "docker-daemon":
            return ImageReference(scheme=scheme, text=text, name=body)
        if scheme in ("oci", "oci-archive", "docker-archive"):
            path, ref = _split_path_ref(body)
            return ImageReference(scheme=scheme, text=text, path=path, ref_name=ref)
        return ImageReference(scheme=scheme, text=text, path=Path(body))
    return _parse_bare(text)


def _parse_bare(text: str) -> ImageReference:
    path = Path(text)
    # One stat that never blocks (a FIFO is not opened here) and turns a permission error on
    # the way to the path into one line naming it.
    found = stat_path(path, text)
    if found is not None and stat.S_ISDIR(found.st_mode):
        layout = stat_path(path / "oci-layout", text)
        is_oci = layout is not None and stat.S_ISREG(layout.st_mode)
        return ImageReference(scheme="oci" if is_oci else "dir", text=text, path=path)
    if found is not None and stat.S_ISREG(found.st_mode):
        return ImageReference(scheme=_sniff_archive(path), text=text, path=path)
    if found is not None:
        # A FIFO, socket or device: the archive source refuses it, saying which it is.
        return ImageReference(scheme="docker-archive", text=text, path=path)
    if text.startswith(("/", "./", "../")) or text.endswith((".tar", ".tar.gz", ".tgz")):
        raise ConfigError(f"no such file or directory: {text}")
    return ImageReference(scheme="registry", text=text, registry=parse_registry_ref(text))


def _sniff_archive(path: Path) -> str:
    """A tar holding ``oci-layout`` at its top is an OCI archive; anything else docker-archive."""
    import tarfile

    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                if name == "oci-layout":
                    return "oci-archive"
                if name == "manifest.json":
                    return "docker-archive"
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ConfigError(f"{path}: not a readable image archive ({e})") from e
    return "docker-archive"
