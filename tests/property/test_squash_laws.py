"""Squash laws, checked against a naive model on random layer stacks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.images.kit import Layer, directory, file, opaque, whiteout
from tests.unit.layer_helpers import view_of

NAMES = ["a", "b", "c"]
PATHS = [f"{d}/{n}" for d in ("d1", "d2") for n in NAMES] + ["d1/sub/x", "top"]

op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), st.binary(max_size=8)),
    st.tuples(st.just("delete"), st.sampled_from([*PATHS, "d1", "d2", "d1/sub"]), st.just(b"")),
    st.tuples(st.just("opaque"), st.sampled_from(["d1", "d2", "d1/sub"]), st.just(b"")),
)


def _model(layers: list[list[tuple[str, str, bytes]]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for ops in layers:
        for kind, path, _ in ops:
            if kind in ("delete", "opaque"):
                prefix = path + "/"
                for p in [p for p in files if p.startswith(prefix) or (kind == "delete" and p == path)]:
                    del files[p]
        for kind, path, data in ops:
            if kind == "write":
                files[path] = data
    return {"/" + k: v for k, v in files.items()}


def _layer(ops: list[tuple[str, str, bytes]]) -> Layer:
    entries = []
    written: dict[str, bytes] = {}
    removed: set[str] = set()
    opaques: set[str] = set()
    for kind, path, data in ops:
        if kind == "write":
            written[path] = data
        elif kind == "delete":
            removed.add(path)
        else:
            opaques.add(path)
    dirs = sorted({p.rsplit("/", 1)[0] for p in written if "/" in p} | opaques)
    for d in dirs:
        parts = d.split("/")
        for i in range(1, len(parts) + 1):
            entries.append(directory("/".join(parts[:i])))
    entries += [whiteout(p) for p in sorted(removed)]
    entries += [opaque(d) for d in sorted(opaques)]
    entries += [file(p, data) for p, data in sorted(written.items())]
    return Layer(entries, compression="none")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(op, max_size=6), min_size=1, max_size=4))
def test_view_matches_naive_model(stack: list[list[tuple[str, str, bytes]]]) -> None:
    # A layer may not both delete and re-add the same path (the OCI spec forbids it).
    clean = []
    for ops in stack:
        written = {p for k, p, _ in ops if k == "write"}
        clean.append([o for o in ops if o[0] == "write" or not any(
            w == o[1] or w.startswith(o[1] + "/") for w in written)])
    view = view_of([_layer(ops) for ops in clean])
    got = {e.path: view.read_entry(e) for e in view.walk() if e.meta.is_file}
    assert got == _model(clean)
    for entry in view.walk():
        assert entry.layer == entry.history[-1].layer
        assert 0 <= entry.introduced_in <= entry.layer
    for hidden in view.hidden():
        assert hidden.visible is False and hidden.removed_in is not None
        assert hidden.removed_in > hidden.layer
