"""``normalize`` skips normpath for paths that are normal already: the shortcut must give what
the full route gives for every input, including the ones that only look normal."""

from __future__ import annotations

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from portcullis.model.files import normalize


def full_route(path: str) -> str:
    return posixpath.normpath("/" + path.replace("\\", "/").lstrip("/")).replace("//", "/")


parts = st.sampled_from(["usr", "bin", ".", "..", "", ".hidden", "a.b", "x\\y", "..a", "é", " "])


@given(st.lists(parts, max_size=8), st.booleans(), st.booleans())
def test_normalize_matches_normpath(names: list[str], leading: bool, trailing: bool) -> None:
    path = ("/" if leading else "") + "/".join(names) + ("/" if trailing else "")
    assert normalize(path) == full_route(path)


@given(st.text(alphabet="/.\\ab", max_size=20))
def test_normalize_matches_normpath_on_any_text(path: str) -> None:
    assert normalize(path) == full_route(path)


def test_normal_paths_are_returned_as_they_are() -> None:
    assert normalize("/usr/share/doc/libc6/copyright") == "/usr/share/doc/libc6/copyright"
    assert normalize("/etc/../etc/passwd") == "/etc/passwd"
    assert normalize("usr//bin/") == "/usr/bin"
    assert normalize("/") == "/"
