"""One exception tree for the whole package.

Every error a user can cause (bad reference, corrupt image, refused credentials, missing DB)
is a ``PortcullisError``; the CLI turns it into one line on stderr and exit code 2. Anything
else that escapes is a bug (exit code 3).
"""

from __future__ import annotations


class PortcullisError(Exception):
    """Root of all expected errors. ``str(err)`` is the one line shown to the user."""


class ConfigError(PortcullisError, ValueError):
    """Bad options, bad configuration file, bad image reference."""


class SourceError(PortcullisError, OSError):
    """The image could not be acquired: missing file, unreadable archive, registry refused."""


class AuthError(SourceError):
    """The registry refused our credentials (401/403)."""


class NotFoundError(SourceError):
    """A manifest, blob, tag or file does not exist where the reference says."""


class DigestMismatchError(SourceError):
    """Content did not hash to the digest that names it."""


class LayerError(PortcullisError, OSError):
    """A layer blob is corrupt: bad compression, truncated tar."""


class TarFormatError(LayerError):
    """A layer's tar stream is malformed (bad checksum, truncation, oversized metadata).

    ``offset`` is the byte offset in the uncompressed tar where the problem was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message)


class LimitExceededError(PortcullisError):
    """A configured limit (image size, layer size, file count, decompressed bytes) was hit."""

    def __init__(self, limit: str, value: int, where: str = "") -> None:
        self.limit = limit
        self.value = value
        self.where = where
        place = f" in {where}" if where else ""
        super().__init__(f"limit exceeded{place}: {limit} ({value} bytes/entries allowed)")


class AnalyzerError(PortcullisError):
    """One analyzer failed; becomes a located warning, never aborts a scan."""


class VulnDBError(PortcullisError):
    """The vulnerability database is missing, corrupt or of an unknown schema."""


class PolicyError(PortcullisError, ValueError):
    """The policy file is invalid."""


class DocumentError(SourceError):
    """A manifest, index, descriptor or image config is malformed: not JSON, nested too deeply,
    or a field of the wrong shape. The message names the file and the field."""


def one_line(text: str, limit: int | None = 300) -> str:
    """``text`` as one line for an error message: whitespace runs become one space, and what
    goes past ``limit`` characters (None: no limit) is cut and marked."""
    line = " ".join(text.split())
    if limit is None or len(line) <= limit:
        return line
    return line[: limit - 1] + "…"
