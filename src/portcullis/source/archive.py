"""Random access to the files of an image archive: a plain directory or a tar.

Both the OCI layout reader and the docker-archive reader ask for files by relative path; this
module hides whether they come from a directory, a tar, or a gzip-compressed tar (which is
inflated once into the scanner's private temp folder, since gzip cannot seek).
"""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import IO, Protocol

from portcullis.errors import ConfigError, LimitExceededError, NotFoundError, SourceError
from portcullis.model.blob import Reader
from portcullis.source.base import SourceOptions

_GZIP_MAGIC = b"\x1f\x8b"


class BlobStore(Protocol):
    where: str

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int: ...

    def open(self, name: str) -> Reader: ...

    def read(self, name: str, limit: int) -> bytes: ...

    def close(self) -> None: ...


def _clean(name: str) -> str:
    return posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")


class DirStore:
    """Files of a directory; names may not leave it."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise SourceError(f"{root}: not a directory")
        self.root = root.resolve()
        self.where = str(root)

    def _path(self, name: str) -> Path:
        path = (self.root / _clean(name)).resolve()
        if not path.is_relative_to(self.root):
            raise SourceError(f"{self.where}: {name!r} points outside the layout")
        return path

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def size(self, name: str) -> int:
        try:
            return self._path(name).stat().st_size
        except OSError as e:
            raise NotFoundError(f"{self.where}: missing {name}") from e

    def open(self, name: str) -> IO[bytes]:
        try:
            return self._path(name).open("rb")
        except FileNotFoundError as e:
            raise NotFoundError(f"{self.where}: missing {name}") from e
        except OSError as e:
            raise SourceError(f"{self.where}: cannot read {name}: {e.strerror}") from e

    def read(self, name: str, limit: int) -> bytes:
        if self.size(name) > limit:
            raise LimitExceededError("max_metadata_size", limit, f"{self.where}/{name}")
        with self.open(name) as f:
            return f.read()

    def close(self) -> None:
        return None


class TarStore:
    """Files of a tar archive, by name, with symlinks and hard links inside it followed."""

    def __init__(self, path: Path, options: SourceOptions) -> None:
        self.where = str(path)
        self._spool: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        try:
            with path.open("rb") as f:
                magic = f.read(2)
        except FileNotFoundError as e:
            raise ConfigError(f"no such file: {path}") from e
        except OSError as e:
            raise SourceError(f"{path}: cannot read: {e.strerror}") from e
        if magic == _GZIP_MAGIC:
            path = self._inflate(path, options)
        try:
            self._tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed in close())
            self._members = {_clean(m.name): m for m in self._tar.getmembers()}
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise SourceError(f"{self.where}: corrupt or truncated tar archive ({e})") from e

    def _inflate(self, path: Path, options: SourceOptions) -> Path:
        tmp = options.make_temp_dir()
        self._tmp = tmp
        out = Path(tmp.name) / "archive.tar"
        limit = options.limits.max_image_bytes
        try:
            with gzip.open(path, "rb") as src, out.open("wb") as dst:
                copied = 0
                while chunk := src.read(1 << 20):
                    copied += len(chunk)
                    if copied > limit:
                        raise LimitExceededError("max_image_bytes", limit, self.where)
                    dst.write(chunk)
        except (OSError, EOFError, zlib.error) as e:
            raise SourceError(f"{self.where}: corrupt gzip-compressed archive ({e})") from e
        return out

    def _resolve(self, name: str, depth: int = 0) -> tarfile.TarInfo:
        member = self._members.get(_clean(name))
        if member is None:
            raise NotFoundError(f"{self.where}: missing {name}")
        if depth > 16:
            raise SourceError(f"{self.where}: link loop at {name}")
        if member.issym():
            target = posixpath.join(posixpath.dirname(_clean(name)), member.linkname)
            return self._resolve(target, depth + 1)
        if member.islnk():
            return self._resolve(member.linkname, depth + 1)
        if not member.isfile():
            raise SourceError(f"{self.where}: {name} is not a regular file")
        return member

    def exists(self, name: str) -> bool:
        try:
            self._resolve(name)
        except SourceError:
            return False
        return True

    def size(self, name: str) -> int:
        return self._resolve(name).size

    def open(self, name: str) -> Reader:
        member = self._resolve(name)
        stream = self._tar.extractfile(member)
        if stream is None:
            raise SourceError(f"{self.where}: cannot read {name}")
        return _TruncationGuard(stream, self.where, name)

    def read(self, name: str, limit: int) -> bytes:
        if self.size(name) > limit:
            raise LimitExceededError("max_metadata_size", limit, f"{self.where}/{name}")
        stream = self.open(name)
        try:
            return stream.read()
        finally:
            stream.close()

    def close(self) -> None:
        self._tar.close()
        if self._tmp is not None:
            self._tmp.cleanup()


class _TruncationGuard:
    """tarfile signals a member cut short by the end of file with ReadError; say it plainly."""

    def __init__(self, inner: IO[bytes], where: str, name: str) -> None:
        self._inner = inner
        self._what = f"{where}: {name}"

    def read(self, size: int = -1) -> bytes:
        try:
            return self._inner.read(size)
        except (tarfile.ReadError, EOFError, OSError) as e:
            raise SourceError(f"{self._what}: truncated archive ({e})") from e

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _TruncationGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path, options: SourceOptions) -> BlobStore:
    if path.is_dir():
        return DirStore(path)
    if not path.exists():
        raise ConfigError(f"no such file or directory: {path}")
    return TarStore(path, options)
