"""What an image is, before anyone looks inside its layers."""

from __future__ import annotations

import platform as _platform
from dataclasses import dataclass, field
from typing import Any

from portcullis.errors import ConfigError
from portcullis.model.digest import Digest

# The diff_id of an empty tar (1024 zero bytes): what `WORKDIR`-style steps leave behind.
EMPTY_LAYER_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

_ARCH_ALIASES = {
    "x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "i386": "386",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Platform:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    created_by: str = ""
    empty_layer: bool = False
    created: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageConfig:
    user: str = ""
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None
    working_dir: str = ""
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    created: str | None = None
    diff_ids: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()

    @classmethod
    def from_json(cls, doc: Any) -> ImageConfig:
        """Parse an OCI / Docker image config document (already decoded JSON)."""
        if not isinstance(doc, dict):
            raise ConfigError("image config is not a JSON object")
        cfg = doc.get("config") or doc.get("container_config") or {}
        if not isinstance(cfg, dict):
            cfg = {}
        rootfs = doc.get("rootfs") or {}
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
        history = [
            HistoryEntry(
                created_by=str(h.get("created_by") or ""),
                empty_layer=bool(h.get("empty_layer", False)),
                created=h.get("created"),
                comment=h.get("comment"),
            )
            for h in (doc.get("history") or [])
            if isinstance(h, dict)
        ]
        return cls(
            user=str(cfg.get("User") or ""),
            env=tuple(str(e) for e in cfg.get("Env") or ()),
            entrypoint=_str_tuple(cfg.get("Entrypoint")),
            cmd=_str_tuple(cfg.get("Cmd")),
            exposed_ports=tuple(sorted(str(p) for p in (cfg.get("ExposedPorts") or {}))),
            labels={str(k): str(v) for k, v in (cfg.get("Labels") or {}).items()},
            healthcheck=cfg.get("Healthcheck") or None,
            working_dir=str(cfg.get("WorkingDir") or ""),
            os=str(doc.get("os") or "linux"),
            architecture=str(doc.get("architecture") or "amd64"),
            variant=doc.get("variant") or None,
            created=doc.get("created"),
            diff_ids=tuple(str(d) for d in (diff_ids or ())),
            history=tuple(history),
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


def _str_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerRef:
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    reference: str
    source: str
    manifest_digest: str | None
    config_digest: str | None
    config: ImageConfig
    layers: tuple[LayerRef, ...]
    annotations: dict[str, str] = field(default_factory=dict)
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
