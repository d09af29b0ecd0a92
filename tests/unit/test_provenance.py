from __future__ import annotations

import json

from portcullis.analyze.provenance import first_layers
from tests.images.kit import Layer, file, whiteout
from tests.unit.layer_helpers import analysis_context, view_of


def _parse(data: bytes) -> list[str]:
    return [line for line in data.decode().splitlines() if line]


def test_package_keeps_the_layer_where_it_first_appeared() -> None:
    view = view_of([
        Layer([file("db", "a@1\nb@1\n")]),
        Layer([file("db", "a@1\nb@1\nc@1\n")]),  # adds c, rewrites the DB
        Layer([file("db", "a@2\nb@1\nc@1\n")]),  # upgrades a
        Layer([file("db", "a@2\nc@1\n")]),  # removes b
    ])
    assert first_layers(view, ["/db"], _parse) == {"a@2": 2, "c@1": 1}


def test_package_removed_and_reinstalled_starts_a_new_run() -> None:
    view = view_of([
        Layer([file("db", "x@1\n")]),
        Layer([file("db", "")]),
        Layer([file("db", "x@1\n")]),
    ])
    assert first_layers(view, ["/db"], _parse) == {"x@1": 2}


def test_several_files_and_deleted_db() -> None:
    view = view_of([
        Layer([file("s.d/a", "a@1\n"), file("s.d/b", "b@1\n")]),
        Layer([whiteout("s.d/b"), file("s.d/c", "c@1\n")]),
    ])
    paths = [e.path for e in view.glob("/s.d/*")]
    assert first_layers(view, paths, _parse) == {"a@1": 0, "c@1": 1}


def test_lock_file_rewritten_later_dates_each_package() -> None:
    from portcullis.analyze.lang.npm import NpmPackages

    def lock(deps: dict[str, str]) -> str:
        packages = {"": {"name": "app", "version": "1.0.0"}}
        packages.update({f"node_modules/{n}": {"version": v} for n, v in deps.items()})
        return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages})

    view = view_of([
        Layer([file("app/package-lock.json", lock({"a": "1.0.0", "b": "1.0.0"}))]),
        Layer([file("app/other", "x")]),
        Layer([file("app/package-lock.json", lock({"a": "1.0.0", "b": "2.0.0", "c": "1.0.0"}))]),
    ])
    result = NpmPackages().analyze(view, analysis_context())
    assert {(p.name, p.version): p.introduced_in for p in result.packages} == {
        ("a", "1.0.0"): 0, ("b", "2.0.0"): 2, ("c", "1.0.0"): 2}
