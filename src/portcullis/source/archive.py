"""Random access to the files of an image archive: a plain directory or a tar.

Both the OCI layout reader and the docker-archive reader ask for files by relative path; this
module hides whether they come from a directory, a tar, or a gzip-compressed tar (which is
inflated once into the scanner's private temp folder, since gzip cannot seek).
"""

from __future__ import annotations

import gzip
import os
import posixpath
import stat
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import IO, BinaryIO, Protocol

from portcullis.errors import ConfigError, LimitExceededError, NotFoundError, SourceError
from portcullis.model.blob import Reader
from portcullis.source.base import SourceOptions
from portcullis.source.inflate import MAX_MEMBERS, copy_tar_within, inflate_bounds

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


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def stat_path(path: Path, what: str) -> os.stat_result | None:
    """``os.stat`` (following links) that never blocks; None when nothing is there.

    Permission and other OS errors become one SourceError naming ``what``.
    """
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise SourceError(f"{what}: cannot read: {e.strerror or e}") from e


def open_regular(path: Path, what: str) -> BinaryIO:
    """Open a regular file for reading; a FIFO, socket, device or directory is refused.

    O_NONBLOCK keeps the open itself from waiting for a FIFO's writer, and the type is checked
    on the open descriptor, so a file swapped after a check cannot slip through.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as e:
        raise NotFoundError(f"{what}: no such file") from e
    except OSError as e:
        raise SourceError(f"{what}: cannot read: {e.strerror or e}") from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SourceError(f"{what}: {_kind(mode)}, not a regular file")
        # Regular files ignore O_NONBLOCK, but clear it so the reader sees a plain file.
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class DirStore:
    """Files of a directory; names may not leave it."""

    def __init__(self, root: Path) -> None:
        found = stat_path(root, str(root))
        if found is None or not stat.S_ISDIR(found.st_mode):
            raise SourceError(f"{root}: not a directory")
        self.root = root.resolve()
        self.where = str(root)

    def _path(self, name: str) -> Path:
        path = (self.root / _clean(name)).resolve()
        if not path.is_relative_to(self.root):
            raise SourceError(f"{self.where}: {name!r} points outside the layout")
        return path

    def exists(self, name: str) -> bool:
        """Anything by that name: a FIFO or directory there is refused when opened."""
        return stat_path(self._path(name), f"{self.where}/{name}") is not None

    def size(self, name: str) -> int:
        found = stat_path(self._path(name), f"{self.where}/{name}")
        if found is None:
            raise NotFoundError(f"{self.where}: missing {name}")
        return found.st_size

    def open(self, name: str) -> IO[bytes]:
        return open_regular(self._path(name), f"{self.where}/{name}")

    def read(self, name: str, limit: int) -> bytes:
        with self.open(name) as f:
            # The size is taken from the open file, and at most limit + 1 bytes are read.
            if os.fstat(f.fileno()).st_size > limit:
                raise LimitExceededError("max_metadata_size", limit, f"{self.where}/{name}")
            data = f.read(limit + 1)
        if len(data) > limit:
            raise LimitExceededError("max_metadata_size", limit, f"{self.where}/{name}")
        return data

    def close(self) -> None:
        return None


class TarStore:
    """Files of a tar archive, by name, with symlinks and hard links inside it followed."""

    def __init__(self, path: Path, options: SourceOptions) -> None:
        self.where = str(path)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        try:
            self._open(path, options)
        except BaseException:
            if self._tmp is not None:
                self._tmp.cleanup()
            raise

    def _open(self, path: Path, options: SourceOptions) -> None:
        raw = open_regular(path, str(path))
        try:
            magic = raw.read(2)
            raw.seek(0)
        except OSError as e:
            raw.close()
            raise SourceError(f"{path}: cannot read: {e.strerror or e}") from e
        if magic == _GZIP_MAGIC:
            with raw:
                raw = self._inflate(raw, options)
        try:
            self._tar = tarfile.open(fileobj=raw, mode="r:")  # noqa: SIM115 (closed in close())
            self._members: dict[str, tarfile.TarInfo] = {}
            for count, member in enumerate(self._tar, 1):
                if count > MAX_MEMBERS:
                    raise LimitExceededError("archive_members", MAX_MEMBERS, self.where)
                self._members[_clean(member.name)] = member
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raw.close()
            raise SourceError(f"{self.where}: corrupt or truncated tar archive ({e})") from e
        except BaseException:
            raw.close()
            raise
        self._raw = raw

    def _inflate(self, raw: BinaryIO, options: SourceOptions) -> BinaryIO:
        """Inflate into the private temp folder, within the limits, as the bytes come."""
        tmp = options.make_temp_dir()
        self._tmp = tmp
        out = Path(tmp.name) / "archive.tar"
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as src, out.open("wb") as dst:
                copy_tar_within(src, dst, inflate_bounds(options.limits), self.where)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            out.unlink(missing_ok=True)
            raise SourceError(f"{self.where}: corrupt gzip-compressed archive ({e})") from e
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return out.open("rb")

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
        self._raw.close()
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
    found = stat_path(path, str(path))
    if found is None:
        raise ConfigError(f"no such file or directory: {path}")
    if stat.S_ISDIR(found.st_mode):
        return DirStore(path)
    return TarStore(path, options)
