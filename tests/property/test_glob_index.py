"""The indexed glob returns exactly what a plain fnmatch scan over every visible path does."""

from __future__ import annotations

import fnmatch

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView, literal_prefix, literal_suffix, matcher
from portcullis.model.files import FileKind, FileMeta, normalize

# Few letters, so random patterns and paths meet; the fnmatch specials appear in paths too.
SEGMENT = st.text(alphabet="ab.-[]*?!", min_size=1, max_size=4).filter(
    lambda s: s not in (".", ".."))
PATH = st.lists(SEGMENT, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
TOKEN = st.one_of(
    st.sampled_from(["a", "b", ".", "-", "/", "!", "]", "*", "?", "[", "[ab]", "[!a]", "[a-b]",
                     "[]a]", "[.]", "[/]", "*.", "*/", ".a", "/a"]),
    st.text(alphabet="ab./", min_size=1, max_size=3),
)
RANDOM_PATTERN = st.lists(TOKEN, max_size=6).map("".join)


@st.composite
def patterns_near(draw: st.DrawFn, paths: list[str]) -> str:
    """Patterns built from a real path, so that some of them match something."""
    path = draw(st.sampled_from(paths))
    head, _, name = path.rpartition("/")
    dot = name.rfind(".")
    forms = [
        f"*/{name}", f"{head}/*", f"*{name[dot:]}" if dot >= 0 else f"*{name}",
        f"{head}/{name[:1]}*", f"*{name[-1:]}", f"{head}/?{name[1:]}", path,
        f"*/[{name[:1]}]{name[1:]}", f"{head[:2]}*{name[-2:]}",
    ]
    return draw(st.sampled_from(forms))


def _meta(path: str) -> FileMeta:
    return FileMeta(path=path, kind=FileKind.FILE)


def _scan(paths: set[str], pattern: str) -> list[str]:
    return [p for p in sorted(paths) if fnmatch.fnmatchcase(p, pattern)]


def _visible_after(paths: set[str], deleted: set[str]) -> set[str]:
    return {p for p in paths
            if not any(p == d or p.startswith(d + "/") for d in deleted)}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_indexed_glob_equals_plain_scan(data: st.DataObject) -> None:
    paths = {normalize(p) for p in data.draw(st.lists(PATH, min_size=1, max_size=25))}
    view = SquashedView()
    view.apply(LayerIndex(layer=0, entries={p: _meta(p) for p in paths}))
    pattern = data.draw(st.one_of(RANDOM_PATTERN, patterns_near(sorted(paths))))
    got = [e.path for e in view.glob(pattern)]
    assert got == _scan(paths, pattern)
    # A later layer deletes some paths: the index must follow, never answer from before.
    deleted = set(data.draw(st.lists(st.sampled_from(sorted(paths)), max_size=3)))
    view.apply(LayerIndex(layer=1, deleted=deleted))
    remaining = _visible_after(paths, deleted)
    assert [e.path for e in view.glob(pattern)] == _scan(remaining, pattern)
    assert all(e.visible and e.history for e in view.glob(pattern))


@given(RANDOM_PATTERN, PATH)
def test_literal_ends_bound_every_match(pattern: str, path: str) -> None:
    if fnmatch.fnmatchcase(path, pattern):
        assert path.startswith(literal_prefix(pattern))
        assert path.endswith(literal_suffix(pattern))


def test_literal_ends_of_the_analyzers_patterns() -> None:
    assert literal_suffix("*/node_modules/*/package.json") == "/package.json"
    assert literal_suffix("*/requirements*.txt") == ".txt"
    assert literal_suffix("/var/lib/dpkg/status.d/*") == ""
    assert literal_suffix("*/[Mm]akefile") == "akefile"
    assert literal_prefix("/var/lib/dpkg/info/*.list") == "/var/lib/dpkg/info/"
    assert literal_prefix("/etc/os-release") == "/etc/os-release"


@settings(max_examples=500)
@given(st.data())
def test_matcher_agrees_with_fnmatch(data: st.DataObject) -> None:
    """The pattern test glob uses (one ``*`` and no other wildcard: the path's two ends;
    anything else: fnmatch's regular expression) says what fnmatch says."""
    path = data.draw(PATH)
    pattern = data.draw(st.one_of(RANDOM_PATTERN, patterns_near([path]), st.just(path)))
    assert bool(matcher(pattern)(path)) == fnmatch.fnmatchcase(path, pattern)


def test_matcher_with_one_star_needs_both_ends_without_overlap() -> None:
    assert matcher("/etc/ssh/ssh_host_*_key")("/etc/ssh/ssh_host_rsa_key")
    assert not matcher("/a*a")("/a")  # "/a" starts with "/a" and ends with "a": they overlap
    assert matcher("/a*a")("/aa")
    assert matcher("*")("/anything\nat all")
    assert matcher("/x")("/x") and not matcher("/x")("/x/y")
