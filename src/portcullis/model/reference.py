"""Registry references, ``[host[:port]/]repo[:tag][@digest]``, after Docker's normalisation.

Pure parsing (no I/O): sources use it to pull, analyzers and writers to name images.
"""

from __future__ import annotations

import re

import msgspec

from portcullis.errors import ConfigError
from portcullis.model.digest import Digest

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"

_REPO_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class RegistryRef(msgspec.Struct, frozen=True, kw_only=True):
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
