"""Run kit layers through the real layer pipeline (stream → index → view)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from portcullis.analyze.base import AnalysisContext
from portcullis.layers.content import ContentStore, ContentWriter
from portcullis.layers.index import FileCounter, LayerIndex, index_layer
from portcullis.layers.stream import LayerStream
from portcullis.layers.view import SquashedView
from portcullis.limits import ScanLimits
from portcullis.model.distro import Distro
from portcullis.model.files import FileMeta
from portcullis.model.image import ImageConfig, ImageInfo
from tests.images import kit


class CaptureAll:
    """A ContentSink that spools every regular file (tests read them back through the view)."""

    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def open(self, layer: int, meta: FileMeta) -> ContentWriterSink:
        return ContentWriterSink(self.store.writer(layer, meta.path))

    def link(self, layer: int, meta: FileMeta, index: LayerIndex) -> None:
        return None


class ContentWriterSink:
    def __init__(self, writer: ContentWriter) -> None:
        self.writer = writer

    def update(self, chunk: bytes) -> None:
        self.writer.write(chunk)

    def finish(self) -> None:
        self.writer.commit()


def analysis_context(distro: Distro | None = None,
                     image: ImageInfo | None = None) -> AnalysisContext:
    """What a tree analyzer gets besides the files, for a test image."""
    info = image or ImageInfo(reference="test", source="test", manifest_digest=None,
                              config_digest=None, config=ImageConfig(), layers=())
    return AnalysisContext(image=info, limits=ScanLimits(), now=datetime(2024, 1, 1, tzinfo=UTC),
                           distro=distro)


def index_of(layer: kit.Layer, number: int, store: ContentStore,
             limits: ScanLimits | None = None) -> LayerIndex:
    limits = limits or ScanLimits()
    with LayerStream(io.BytesIO(layer.blob()), diff_id=kit.sha(layer.tar_bytes()),
                     limit=limits.max_layer_bytes, what=f"layer {number}") as stream:
        return index_layer(stream, number, sink=CaptureAll(store), limits=limits,
                           counter=FileCounter(limits.max_files), what=f"layer {number}")


def view_of(layers: Sequence[kit.Layer]) -> SquashedView:
    store = ContentStore()
    return SquashedView.build([index_of(layer, i, store) for i, layer in enumerate(layers)],
                              store)
