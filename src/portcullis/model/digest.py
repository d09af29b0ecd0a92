"""Content digests (``algorithm:hex``) as used by OCI and the Docker registry API."""

from __future__ import annotations

import hashlib
import re

import msgspec

from portcullis.errors import ConfigError

_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}
_DIGEST_RE = re.compile(r"^(?P<alg>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-fA-F0-9]+)$")


class Digest(msgspec.Struct, frozen=True, order=True):
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _DIGEST_RE.match(text.strip())
        if not m:
            raise ConfigError(f"not a digest: {text!r}")
        alg, hx = m.group("alg"), m.group("hex").lower()
        expected = _HEX_LEN.get(alg)
        if expected is None:
            raise ConfigError(f"unsupported digest algorithm {alg!r} in {text!r}")
        if len(hx) != expected:
            raise ConfigError(f"digest {text!r} has {len(hx)} hex digits, {alg} needs {expected}")
        return cls(alg, hx)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def is_digest(text: str) -> bool:
    try:
        Digest.parse(text)
    except ConfigError:
        return False
    return True
