"""``safe_name`` takes a short way for plain tar names: it must agree with the long way
(count the parts, then normalise) on every name, odd ones included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.layers.index import safe_name
from portcullis.model.files import normalize


def long_way(raw: str) -> str | None:
    depth = 0
    for part in raw.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            depth -= 1
            if depth < 0:
                return None
        else:
            depth += 1
    return normalize(raw)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab./\\", max_size=14))
def test_same_as_the_long_way(raw: str) -> None:
    assert safe_name(raw) == long_way(raw)


def test_common_and_odd_names() -> None:
    names = ["usr/bin/ls", "./etc/passwd", "etc/", "./", ".", "", "a//b", "a/./b", "a/../b",
             "../x", "./../x", "/abs/path", "a\\b", "home/u/.bashrc", ".wh.file", "a/.wh..wh..opq",
             "usr/lib/x86_64-linux-gnu/libc.so.6", "a/b/..", "a/b/."]
    for raw in names:
        assert safe_name(raw) == long_way(raw), raw
    assert safe_name("usr/bin/ls") == "/usr/bin/ls"
    assert safe_name("../x") is None
