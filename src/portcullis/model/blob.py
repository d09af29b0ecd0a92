"""The protocols a source hands to the rest of the scanner: an opened image and its blob streams.

They live in ``model`` so that ``layers`` and ``analyze`` can use them without importing
``source`` (DESIGN.md section 2: sources, analyzers and layers never import each other).
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from portcullis.model.image import ImageInfo, LayerRef


class Reader(Protocol):
    """The least a blob stream offers: sequential reads and close."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class Image(Protocol):
    """An opened image: metadata plus a way to stream each layer blob exactly once."""

    info: ImageInfo

    def open_layer(self, layer: LayerRef) -> Reader:
        """The raw (possibly compressed) blob of ``layer``.

        The returned stream verifies the blob's digest when it reaches EOF and raises
        ``DigestMismatchError`` there; callers must read it to the end.
        """
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Image: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
