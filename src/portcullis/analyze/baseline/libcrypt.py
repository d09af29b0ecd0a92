"""The system's libcrypt (libxcrypt: yescrypt, sha512/sha256/md5-crypt, bcrypt, DES) through
ctypes. ``crypt_rn`` keeps its state in a buffer we pass, so calls are thread-safe, and
ctypes drops the GIL for the call: threads hash on every core.

ctypes is imported on first use (~7 ms): most images have no password hash to check."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

# libxcrypt's struct crypt_data is 32 KiB; glibc's old one ~128 KiB. Room for either.
_DATA_SIZE = 256 * 1024


class CryptUnavailable(Exception):
    pass


@cache
def _library() -> tuple[ctypes.CDLL, bool]:
    """The library and whether it has ``crypt_rn`` (else ``crypt_r``)."""
    import ctypes
    import ctypes.util

    names = [n for n in ("libcrypt.so.1", ctypes.util.find_library("crypt"), "libcrypt.so.2")
             if n]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "crypt_rn"):
            lib.crypt_rn.restype = ctypes.c_char_p
            lib.crypt_rn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                                     ctypes.c_int]
            return lib, True
        if hasattr(lib, "crypt_r"):
            lib.crypt_r.restype = ctypes.c_char_p
            lib.crypt_r.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
            return lib, False
    raise CryptUnavailable("no libcrypt found (install libcrypt1 / libxcrypt)")


class Hasher:
    """One thread's hashing state (its own crypt_data buffer)."""

    def __init__(self) -> None:
        import ctypes

        self._lib, self._rn = _library()
        self._data = ctypes.create_string_buffer(_DATA_SIZE)
        self._memset = ctypes.memset

    def crypt(self, phrase: bytes, setting: bytes) -> bytes | None:
        """The hash of ``phrase`` with ``setting`` (a full hash works as its own setting),
        or None when this libcrypt does not know the method."""
        if b"\0" in phrase or b"\0" in setting:
            return None
        self._memset(self._data, 0, 8)  # "initialized" must be 0 before the first call
        if self._rn:
            out = self._lib.crypt_rn(phrase, setting, self._data, _DATA_SIZE)
        else:
            out = self._lib.crypt_r(phrase, setting, self._data)
        if not out or out.startswith(b"*"):
            return None
        return bytes(out)


def available() -> bool:
    try:
        _library()
    except CryptUnavailable:
        return False
    return True
