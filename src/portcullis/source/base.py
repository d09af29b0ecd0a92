"""The ImageSource protocol and what every source shares."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

import msgspec

from portcullis.errors import SourceError
from portcullis.limits import ScanLimits
from portcullis.model.blob import Image
from portcullis.model.image import ImageInfo, Platform
from portcullis.progress import NullProgress, Progress


class SourceOptions(msgspec.Struct, frozen=True, kw_only=True):
    platform: Platform | None = None
    username: str | None = None
    password: str | None = None
    insecure: bool = False
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.5
    docker_config: Path | None = None
    temp_dir: Path | None = None
    limits: ScanLimits = msgspec.field(default_factory=ScanLimits)
    progress: Progress = msgspec.field(default_factory=NullProgress)

    def wanted_platform(self) -> Platform:
        return self.platform or Platform.host()

    def make_temp_dir(self, prefix: str = "portcullis-") -> tempfile.TemporaryDirectory[str]:
        """A private folder for spooled data; removed when the image (or scan) is closed.

        A ``temp_dir`` that is missing, not a directory or not writable is a SourceError.
        """
        base = str(self.temp_dir) if self.temp_dir else None
        try:
            return tempfile.TemporaryDirectory(prefix=prefix, dir=base)
        except OSError as e:
            where = f"temp dir {self.temp_dir}" if self.temp_dir else "system temp dir"
            raise SourceError(f"{where}: cannot create files there: {e.strerror or e}") from e


class ImageBase:
    """Context-manager plumbing and a cleanup list shared by concrete images."""

    info: ImageInfo

    def __init__(self) -> None:
        self._cleanups: list[Callable[[], object]] = []

    def on_close(self, fn: Callable[[], object]) -> None:
        self._cleanups.append(fn)

    def close(self) -> None:
        while self._cleanups:
            self._cleanups.pop()()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


OpenImage = Callable[[str, SourceOptions], Image]
