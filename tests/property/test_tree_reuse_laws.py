"""Tree-analyzer reuse law: on random small layer stacks and random edits of the top layer, a
scan on a cache warmed by the unedited image gives the engine result of a scan without cache.
The paths are the inventory analyzers' inputs (package DBs, file lists, copyright files,
os-release, package.json, METADATA) and an unrelated file; an edit writes another version,
deletes (whiteout) or replaces a path by a symlink."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portcullis.analyze.engine import EngineOptions, EngineResult, run
from portcullis.cache import LayerCacheDir
from portcullis.scan import _selected_analyzers, parse_scanners
from portcullis.source.base import SourceOptions
from portcullis.source.resolve import open_image
from tests.images import kit

DAY = datetime(2026, 12, 1, 12, tzinfo=UTC)

_PKG = "Package: {name}\nStatus: install ok installed\nArchitecture: all\nVersion: {version}\n"
VERSIONS: dict[str, list[str]] = {
    "etc/os-release": ["ID=debian\nVERSION_ID=12\n", "ID=debian\nVERSION_ID=13\n",
                       "ID=ubuntu\nVERSION_ID=24.04\n"],
    "var/lib/dpkg/status": [
        _PKG.format(name="foo", version="1.0") + "\n" + _PKG.format(name="bar", version="2.0"),
        _PKG.format(name="foo", version="1.1") + "\n" + _PKG.format(name="bar", version="2.0"),
        _PKG.format(name="bar", version="2.0")],
    "var/lib/dpkg/info/foo.list": ["/usr\n/usr/lib/foo.so\n/usr/share/doc/foo/copyright\n",
                                   "/usr/lib/foo.so.2\n"],
    "var/lib/dpkg/info/bar.list": [
        "/app/node_modules/left-pad/package.json\n/usr/share/doc/bar/copyright\n", "/etc\n"],
    "usr/share/doc/foo/copyright": ["License: MIT\n", "License: GPL-2\n"],
    "usr/share/doc/bar/copyright": ["License: Apache-2.0\n", "License: MIT\n"],
    "usr/lib/foo.so": ["\x7fELF"],
    "app/node_modules/left-pad/package.json": ['{"name": "left-pad", "version": "1.3.0"}',
                                               '{"name": "left-pad", "version": "1.3.1"}'],
    "app/node_modules/is-odd/package.json": ['{"name": "is-odd", "version": "3.0.1"}'],
    "srv/lib/python3/site-packages/six-1.16.0.dist-info/METADATA": [
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n",
        "Metadata-Version: 2.1\nName: six\nVersion: 1.17.0\n"],
    "app/notes.txt": ["a", "b"],
}
PATHS = sorted(VERSIONS)
LINKS = {"usr/share/doc/bar": "foo", "usr/share/doc/foo": "/usr/share/doc/bar",
         "app/node_modules/is-odd": "left-pad", "etc/os-release": "../usr/lib/os-release"}

op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), st.integers(0, 2)),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.just(0)),
    st.tuples(st.just("link"), st.sampled_from(sorted(LINKS)), st.just(0)),
)
layer_ops = st.lists(op, max_size=6)


def _layer(ops: list[tuple[str, str, int]]) -> kit.Layer:
    last: dict[str, tuple[str, int]] = {}
    for kind, path, which in ops:
        last[path] = (kind, which)  # one entry per path and layer
    entries = []
    for path, (kind, which) in sorted(last.items()):
        if kind == "write":
            versions = VERSIONS[path]
            entries.append(kit.file(path, versions[which % len(versions)]))
        elif kind == "delete":
            entries.append(kit.whiteout(path))
        else:
            entries.append(kit.symlink(path, LINKS[path]))
    return kit.Layer(entries)


def _run(root: Path, name: str, layers: list[kit.Layer], cache: Path | None) -> EngineResult:
    layout = kit.write_oci_layout(root / name, kit.ImageSpec(layers=layers), ref="t")
    with open_image(f"oci:{layout}:t", SourceOptions()) as image:
        engine = run(image, _selected_analyzers(parse_scanners("packages")),
                     EngineOptions(temp_dir=str(root), now=DAY,
                                   cache=LayerCacheDir(cache) if cache else None))
        engine.close()
    return engine


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.lists(layer_ops, min_size=1, max_size=2), before=layer_ops, after=layer_ops)
def test_a_warm_rescan_after_a_top_layer_edit_equals_a_scan_without_cache(
        base: list[list[tuple[str, str, int]]], before: list[tuple[str, str, int]],
        after: list[tuple[str, str, int]]) -> None:
    # An edit is the old top layer plus some operations (or a whole new top layer when the
    # old one is empty), so that some inputs stay and some change.
    lower = [_layer(ops) for ops in base]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        _run(root, "before", [*lower, _layer(before)], cache)
        edited = [*lower, _layer([*before, *after, ("write", "app/notes.txt", 1)])]
        warm = _run(root, "warm", edited, cache)
        cold = _run(root, "cold", edited, None)
    assert warm.result == cold.result
    assert warm.files == cold.files
