"""first_layers against a naive model: replay the DB files layer by layer, union their keys,
and date each key still present to the start of its last unbroken run."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portcullis.analyze.provenance import first_layers
from portcullis.layers.content import ContentStore
from portcullis.layers.index import LayerIndex
from portcullis.layers.view import SquashedView
from portcullis.model.files import FileKind, FileMeta

FILES = ["/db/a", "/db/b", "/db/c"]
KEYS = ["k1", "k2", "k3", "k4"]

# One layer: for some files, either new contents (a set of keys) or a deletion (None).
LAYER = st.dictionaries(st.sampled_from(FILES),
                        st.one_of(st.none(), st.frozensets(st.sampled_from(KEYS))), max_size=3)


def _model(stack: list[dict[str, frozenset[str] | None]]) -> dict[str, int]:
    files: dict[str, frozenset[str]] = {}
    first: dict[str, int] = {}
    for layer, changes in enumerate(stack):
        for path, keys in changes.items():
            if keys is None:
                files.pop(path, None)
            else:
                files[path] = keys
        now = set().union(*files.values())
        first = {k: first.get(k, layer) for k in now}
    return first


def _view(stack: list[dict[str, frozenset[str] | None]]) -> SquashedView:
    store = ContentStore()
    view = SquashedView(store)
    for layer, changes in enumerate(stack):
        entries = {}
        for path, keys in changes.items():
            if keys is not None:
                entries[path] = FileMeta(path=path, kind=FileKind.FILE)
                store.put(layer, path, "\n".join(sorted(keys)).encode())
        deleted = {p for p, keys in changes.items() if keys is None}
        view.apply(LayerIndex(layer=layer, entries=entries, deleted=deleted))
    return view


@settings(max_examples=200, deadline=None)
@given(st.lists(LAYER, min_size=1, max_size=6))
def test_first_layers_matches_replay(stack: list[dict[str, frozenset[str] | None]]) -> None:
    view = _view(stack)

    def parse(data: bytes) -> list[str]:
        return data.decode().split()

    assert first_layers(view, FILES, parse) == _model(stack)
