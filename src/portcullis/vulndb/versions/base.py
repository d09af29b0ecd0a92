"""What every version scheme offers: a name and a sort key for a version string.

A key orders versions exactly as the ecosystem's own tool does (``dpkg --compare-versions``,
``rpmvercmp``, ``apk version -t``, pip, npm, Maven, ...): ``key(a) < key(b)`` means a is older,
``key(a) == key(b)`` means the tool calls them equal (``1.0`` and ``1.0.0`` under PEP 440).
Keys of one scheme compare with each other only, never across schemes.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias

# A key is a tuple whose positions hold values of one type per position, so plain tuple
# comparison is the scheme's order; Maven's key holds one comparator object instead.
SortKey: TypeAlias = tuple[Any, ...]


class InvalidVersion(ValueError):
    """A version string the scheme cannot order; ``str()`` says which string and why."""

    def __init__(self, scheme: str, version: str, why: str) -> None:
        self.scheme = scheme
        self.version = version
        super().__init__(f"not a valid {scheme} version: {version!r} ({why})")


class UnknownEcosystem(LookupError):
    """An OSV ecosystem name no scheme claims."""


class Scheme(Protocol):
    name: str

    def __hash__(self) -> int:
        """Schemes are singletons; callers may cache keys per (scheme, version)."""
        ...

    def key(self, version: str) -> SortKey:
        """The sort key of ``version``; raises ``InvalidVersion`` when it cannot be parsed."""
        ...


def check_text(scheme: str, version: str) -> None:
    """Versions are short printable strings: empty or whitespace-carrying input is refused early."""
    if not version:
        raise InvalidVersion(scheme, version, "empty")
    if any(c.isspace() or not c.isprintable() for c in version):
        raise InvalidVersion(scheme, version, "contains whitespace or control characters")


def split_epoch_release(scheme: str, version: str) -> tuple[int, str, str, bool]:
    """``[epoch:]upstream[-release]`` as dpkg and rpm write it: (epoch, upstream, release,
    whether a ``-`` was there). The release is what follows the last ``-``."""
    epoch = 0
    rest = version
    if ":" in version:
        head, rest = version.split(":", 1)
        if not (head.isascii() and head.isdigit()):
            raise InvalidVersion(scheme, version, "epoch is not a number")
        epoch = int(head)
    upstream, dash, release = rest.rpartition("-")
    if not dash:
        return epoch, rest, "", False
    return epoch, upstream, release, True
