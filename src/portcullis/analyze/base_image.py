"""Which base image the scanned image was built on, and which of its layers came from it.

Sets ``base_image`` on its result: the ``base_image`` object of CONTRACT.md §5. Sources, most
trusted first:

1. ``annotation`` / ``label``: ``org.opencontainers.image.base.name`` in the manifest
   annotations, else in the config labels (BuildKit and buildah can write them);
2. ``catalog``: a known base image whose diff_id chain is a prefix of the image's
   (see :mod:`portcullis.analyze.base_catalog`; the longest match wins);
3. ``history``: ``FROM`` copies the base's history, which ends with its ``CMD`` or
   ``ENTRYPOINT`` (an empty-layer entry); the last such entry that still has layers above it
   marks the end of the base. A one-layer image with no such marker is its own base.

The name tells nothing about where the base ends, so with an annotation or label the last
layer still comes from the catalog (when the diff_ids match) or the history.
"""

from __future__ import annotations

import re
from typing import ClassVar

from portcullis.analyze.base import (
    STAGE_CHECKS,
    AnalysisContext,
    AnalysisResult,
    AnalyzerSpec,
)
from portcullis.analyze.base_catalog import CatalogEntry, best_match, load_catalog
from portcullis.errors import ConfigError
from portcullis.layers.view import Filesystem
from portcullis.model.finding import Warning
from portcullis.model.image import ImageInfo
from portcullis.model.reference import DEFAULT_REGISTRY, parse_registry_ref
from portcullis.model.report import BaseImageInfo

BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"

# Config labels that name the base image, in order of trust.
NAME_LABELS = (BASE_NAME,)

# `CMD ["bash"]` as BuildKit writes it, `/bin/sh -c #(nop)  CMD ["bash"]` as the classic
# builder does.
_FINAL_STEP = re.compile(r"^(?:/bin/sh -c )?(?:#\(nop\)\s*)?(?:CMD|ENTRYPOINT)\b", re.IGNORECASE)


def parse_base_name(text: str) -> tuple[str, str | None]:
    """``docker.io/library/debian:12`` → ("debian", "12"); ``ghcr.io/o/app@sha256:…`` →
    ("ghcr.io/o/app", None). Unparseable names are kept as they are."""
    try:
        ref = parse_registry_ref(text)
    except ConfigError:
        return text.strip(), None
    repo = ref.repository
    if ref.registry == DEFAULT_REGISTRY:
        name = repo.removeprefix("library/")
    else:
        name = f"{ref.registry}/{repo}"
    return name, ref.tag if _tag_written(text) else None


def _tag_written(text: str) -> bool:
    """parse_registry_ref defaults a missing tag to ``latest``; a base name without a tag
    says nothing about the version."""
    return ":" in text.strip().split("@", 1)[0].rsplit("/", 1)[-1]


def history_boundary(info: ImageInfo) -> int | None:
    """Index of the last base layer according to the history, or None when unknown."""
    history = info.config.history
    layers = len(info.layers)
    if layers == 0:
        return None
    if sum(1 for h in history if not h.empty_layer) != layers:
        # Squashed or hand-made config: history entries cannot be mapped to layers.
        return layers - 1 if layers == 1 else None
    below = 0  # non-empty entries seen so far
    boundary: int | None = None
    for entry in history:
        if not entry.empty_layer:
            below += 1
        elif below > 0 and below < layers and _FINAL_STEP.match(entry.created_by.strip()):
            boundary = below - 1
    if boundary is None and layers == 1:
        return 0
    return boundary


def _layer_digest(info: ImageInfo, index: int | None) -> str | None:
    if index is None or not 0 <= index < len(info.layers):
        return None
    layer = info.layers[index]
    return layer.digest or layer.diff_id


class BaseImage:
    spec: ClassVar[AnalyzerSpec] = AnalyzerSpec(
        name="base-image",
        version=1,
        scanners=frozenset({"base-image"}),
        paths=(),
        stage=STAGE_CHECKS,
    )

    def __init__(self, catalog: list[CatalogEntry] | None = None) -> None:
        self._catalog = catalog

    def analyze(self, fs: Filesystem, ctx: AnalysisContext) -> AnalysisResult:
        result = AnalysisResult()
        catalog = self._catalog
        if catalog is None:
            try:
                catalog = load_catalog()
            except ConfigError as e:
                result.warnings.append(Warning(message=str(e), analyzer=self.spec.name))
                catalog = []
        found = identify(ctx, catalog)
        if found is not None:
            result.base_image = found
        return result


def identify(ctx: AnalysisContext, catalog: list[CatalogEntry]) -> BaseImageInfo | None:
    info = ctx.image
    match = best_match(catalog, [layer.diff_id for layer in info.layers])
    name: str | None = None
    version: str | None = None
    method: str | None = None
    last: int | None = None

    named = info.annotations.get(BASE_NAME)
    if named:
        method = "annotation"
    else:
        named = next((info.config.labels[k] for k in NAME_LABELS
                      if info.config.labels.get(k)), None)
        method = "label" if named else None
    if named:
        name, version = parse_base_name(named)
        if match is not None:
            last = len(match.diff_ids) - 1
    elif match is not None:
        name, version, method = match.name, match.version, "catalog"
        last = len(match.diff_ids) - 1
    if last is None:
        last = history_boundary(info)
        if method is None and last is not None:
            method = "history"
    if method is None:
        return None

    distro = ctx.distro
    os_name = distro.family if distro else (match.os_name if match else None)
    os_version = distro.version if distro else (match.os_version if match else None)
    return BaseImageInfo(name=name, version=version, os_name=os_name, os_version=os_version,
                         last_layer=last, layer_digest=_layer_digest(info, last), method=method)
