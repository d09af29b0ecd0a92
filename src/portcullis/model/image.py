"""What an image is, before anyone looks inside its layers."""

from __future__ import annotations

import platform as _platform
from typing import Any

import msgspec

from portcullis.errors import ConfigError, DocumentError
from portcullis.model.digest import Digest
from portcullis.model.json_doc import convert

# The diff_id of an empty tar (1024 zero bytes): what `WORKDIR`-style steps leave behind.
EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

_ARCH_ALIASES = {
    "x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386",
}


class Platform(msgspec.Struct, frozen=True, kw_only=True):
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = [p for p in text.strip().split("/") if p]
        if not 2 <= len(parts) <= 3:
            raise ConfigError(f"platform must be OS/ARCH[/VARIANT], got {text!r}")
        variant = parts[2] if len(parts) == 3 else None
        return cls(os=parts[0], architecture=parts[1], variant=variant)

    @classmethod
    def host(cls) -> Platform:
        machine = _platform.machine().lower()
        arch = _ARCH_ALIASES.get(machine, machine)
        variant = "v8" if arch == "arm64" else ("v7" if arch == "arm" else None)
        return cls(os="linux", architecture=arch, variant=variant)

    def matches(self, other: Platform) -> bool:
        """True when ``other`` (an index entry) can serve a request for ``self``."""
        if self.os != other.os or self.architecture != other.architecture:
            return False
        if self.variant is None or other.variant is None:
            return True
        return self.variant == other.variant

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def to_dict(self) -> dict[str, Any]:
        return {"os": self.os, "architecture": self.architecture, "variant": self.variant}


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    created_by: str = ""
    empty_layer: bool = False
    created: str | None = None
    comment: str | None = None


class ImageConfig(msgspec.Struct, frozen=True, kw_only=True):
    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None
    working_dir: str = ""
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    created: str | None = None
    diff_ids: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()

    @classmethod
    def from_json(cls, doc: Any, where: str = "image config") -> ImageConfig:
        """Parse an OCI / Docker image config document (already decoded JSON).

        Every field is optional or nullable, as real docker, podman, buildah and kaniko
        outputs are; a field of the wrong shape is a DocumentError naming it.
        """
        wire = convert(doc, _ConfigDoc, where)
        # An empty "config" defers to the legacy "container_config", as Docker itself does.
        cfg = next((c for c in (wire.config, wire.container_config)
                    if c is not None and c != _ContainerConfig()), _ContainerConfig())
        diff_ids = tuple(wire.rootfs.diff_ids or ()) if wire.rootfs else ()
        for i, diff_id in enumerate(diff_ids):
            try:
                Digest.parse(diff_id)
            except ConfigError as e:
                raise DocumentError(f"{where}: rootfs.diff_ids[{i}]: {e}") from e
        history = tuple(
            HistoryEntry(
                created_by=h.created_by or "",
                empty_layer=bool(h.empty_layer),
                created=h.created,
                comment=h.comment,
            )
            for h in wire.history or ()
        )
        return cls(
            user=cfg.User or "",
            env=tuple(cfg.Env or ()),
            entrypoint=_str_tuple(cfg.Entrypoint),
            cmd=_str_tuple(cfg.Cmd),
            exposed_ports=tuple(sorted(cfg.ExposedPorts or {})),
            labels=dict(cfg.Labels or {}),
            healthcheck=cfg.Healthcheck or None,
            working_dir=cfg.WorkingDir or "",
            os=wire.os or "linux",
            architecture=wire.architecture or "amd64",
            variant=wire.variant or None,
            created=wire.created,
            diff_ids=diff_ids,
            history=history,
        )

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant)

    def layer_commands(self) -> list[str]:
        """``created_by`` of each non-empty history entry, aligned with ``diff_ids``.

        Histories can be shorter or longer than the layer list (squashed images, hand-made
        configs); missing entries become "".
        """
        commands = [h.created_by for h in self.history if not h.empty_layer]
        if len(commands) < len(self.diff_ids):
            commands += [""] * (len(self.diff_ids) - len(commands))
        return commands[: len(self.diff_ids)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "env": list(self.env),
            "entrypoint": list(self.entrypoint),
            "cmd": list(self.cmd),
            "exposed_ports": list(self.exposed_ports),
            "labels": dict(sorted(self.labels.items())),
            "healthcheck": self.healthcheck,
            "working_dir": self.working_dir,
        }


def _str_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


# The config document as it is written: field names as in the OCI image spec and Docker's
# engine; anything not listed is ignored, anything listed may be missing or null.


class _ContainerConfig(msgspec.Struct):
    User: str | None = None
    Env: list[str] | None = None
    # Docker's strslice accepts a bare string as well as a list.
    Entrypoint: str | list[str] | None = None
    Cmd: str | list[str] | None = None
    ExposedPorts: dict[str, Any] | None = None
    Labels: dict[str, str] | None = None
    Healthcheck: dict[str, Any] | None = None
    WorkingDir: str | None = None


class _RootFS(msgspec.Struct):
    diff_ids: list[str] | None = None


class _History(msgspec.Struct):
    created: str | None = None
    created_by: str | None = None
    comment: str | None = None
    empty_layer: bool | None = None


class _ConfigDoc(msgspec.Struct):
    config: _ContainerConfig | None = None
    container_config: _ContainerConfig | None = None
    rootfs: _RootFS | None = None
    history: list[_History] | None = None
    os: str | None = None
    architecture: str | None = None
    variant: str | None = None
    created: str | None = None


class LayerRef(msgspec.Struct, frozen=True, kw_only=True):
    """One filesystem layer. ``index`` 0 is the bottom layer."""

    index: int
    diff_id: str
    digest: str | None = None
    size: int | None = None
    media_type: str | None = None
    created_by: str = ""

    @property
    def empty_layer(self) -> bool:
        return self.diff_id == EMPTY_LAYER_DIFF_ID

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "digest": self.digest,
            "diff_id": self.diff_id,
            "size": self.size,
            "created_by": self.created_by,
            "empty_layer": self.empty_layer,
        }


class ImageInfo(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    source: str
    manifest_digest: str | None
    config_digest: str | None
    config: ImageConfig
    layers: tuple[LayerRef, ...]
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    repo_tags: tuple[str, ...] = ()

    @property
    def platform(self) -> Platform:
        return self.config.platform

    @property
    def size(self) -> int:
        return sum(layer.size or 0 for layer in self.layers)


def build_layers(
    config: ImageConfig,
    digests: list[str | None],
    sizes: list[int | None],
    media_types: list[str | None] | None = None,
) -> tuple[LayerRef, ...]:
    """Pair a manifest's layer list with the config's diff_ids and history."""
    if len(digests) != len(config.diff_ids):
        raise ConfigError(
            f"manifest lists {len(digests)} layers but the config has "
            f"{len(config.diff_ids)} diff_ids"
        )
    for d in config.diff_ids:
        Digest.parse(d)
    commands = config.layer_commands()
    kinds = media_types or [None] * len(digests)
    return tuple(
        LayerRef(
            index=i,
            diff_id=config.diff_ids[i],
            digest=digests[i],
            size=sizes[i],
            media_type=kinds[i],
            created_by=commands[i],
        )
        for i in range(len(digests))
    )
