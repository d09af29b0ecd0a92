"""Parse the image reference forms of CONTRACT.md §2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from portcullis.errors import ConfigError
from portcullis.model.digest import Digest

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
SCHEMES = ("docker-archive", "oci-archive", "oci", "docker-daemon", "registry", "dir")

_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryRef:
    """``registry/repository[:tag][@digest]`` after Docker's normalisation."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest wins over the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def api_host(self) -> str:
        return "registry-1.docker.io" if self.registry == DEFAULT_REGISTRY else self.registry

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageReference:
    """A parsed reference: which source, and what it points at."""

    scheme: str
    text: str
    path: Path | None = None
    ref_name: str | None = None
    name: str | None = None
    registry: RegistryRef | None = None


def parse_registry_ref(text: str) -> RegistryRef:
    """Parse ``[host[:port]/]repo[:tag][@digest]`` the way ``docker pull`` does."""
    rest = text.strip()
    if not rest:
        raise ConfigError("empty image reference")
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        digest = str(Digest.parse(digest))
    tag: str | None = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
        if not _TAG.match(tag):
            raise ConfigError(f"invalid tag {tag!r} in {text!r}")
    parts = rest.split("/")
    first = parts[0]
    if len(parts) > 1 and ("." in first or ":" in first or first == "localhost"):
        registry, repo_parts = first, parts[1:]
    else:
        registry, repo_parts = DEFAULT_REGISTRY, parts
    if registry == "index.docker.io":
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and len(repo_parts) == 1:
        repo_parts = ["library", *repo_parts]
    for comp in repo_parts:
        if not _REPO_COMPONENT.match(comp):
            raise ConfigError(f"invalid repository name {'/'.join(repo_parts)!r} in {text!r}")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return RegistryRef(registry=registry, repository="/".join(repo_parts), tag=tag, digest=digest)


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
    if path.is_dir():
        scheme = "oci" if (path / "oci-layout").is_file() else "dir"
        return ImageReference(scheme=scheme, text=text, path=path)
    if path.is_file():
        return ImageReference(scheme=_sniff_archive(path), text=text, path=path)
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
