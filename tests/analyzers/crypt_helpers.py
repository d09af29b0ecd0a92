"""Password hashes made with the system's libcrypt (libxcrypt), for planting in test images."""

from __future__ import annotations

import ctypes

from portcullis.analyze.baseline.libcrypt import Hasher

_LIB = ctypes.CDLL("libcrypt.so.1")
_LIB.crypt_gensalt_rn.restype = ctypes.c_char_p
_LIB.crypt_gensalt_rn.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p,
                                  ctypes.c_int, ctypes.c_char_p, ctypes.c_int]


def setting(prefix: str) -> str:
    """A fresh random setting (salt) for ``prefix`` ($y$, $6$, $5$, $1$, $2b$); DES takes a
    two-character salt as its setting."""
    if prefix == "des":
        return "Xy"
    out = ctypes.create_string_buffer(256)
    made = _LIB.crypt_gensalt_rn(prefix.encode(), 0, None, 0, out, 256)
    assert made, f"libcrypt cannot make a {prefix} salt"
    return bytes(made).decode()


def hash_password(password: str, prefix: str) -> str:
    made = Hasher().crypt(password.encode(), setting(prefix).encode())
    assert made is not None
    return made.decode()
