"""Issue acceptance on the real Debian image, language packages and layers: Python and npm
packages equal what pip and npm installed, and every package's layer is the one whose step
brought it, in an image where one layer adds dpkg packages and a later one upgrades one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.images.debian import (
    DEMO_NEW,
    DEMO_OLD,
    DEMO_PACKAGE,
    NPM_PREFIX,
    DebianImage,
)

pytestmark = pytest.mark.slow

_LOCKFILES = ("/package-lock.json", "/npm-shrinkwrap.json", "/yarn.lock", "/pnpm-lock.yaml")


@pytest.fixture(scope="module")
def scan(debian: DebianImage) -> dict[str, Any]:
    result = run_cli("scan", debian.oci_ref, "--format", "json", "--quiet",
                     "--scanners", "packages")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["scanners"]["packages"]["status"] == "ok"
    return doc


def _norm(name: str) -> str:
    """PEP 503 normalisation: pip list and METADATA may spell names differently."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _npm_tree(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every name@version in ``npm ls --all --json`` output (the tree, flattened)."""
    for name, info in (node.get("dependencies") or {}).items():
        if isinstance(info, dict) and isinstance(info.get("version"), str):
            yield name, info["version"]
        if isinstance(info, dict):
            yield from _npm_tree(info)


def _of_type(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p for p in doc["packages"] if p["type"] == kind]


def _installed_python(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in _of_type(doc, "python")
            if ".dist-info/" in p["path"] or ".egg-info" in p["path"]]


def _npm_installed(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in _of_type(doc, "npm")
            if "/node_modules/" in p["path"] and p["path"].endswith("/package.json")]


def _npm_locked(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in _of_type(doc, "npm")
            if "/node_modules/" not in p["path"] and p["path"].endswith(_LOCKFILES)]


def test_python_packages_equal_pip_list(debian: DebianImage, scan: dict[str, Any]) -> None:
    expected = {(_norm(p["name"]), p["version"]) for p in json.loads(debian.pip_list.read_text())}
    assert len(expected) == 5
    installed = _installed_python(scan)
    got = {(_norm(p["name"]), p["version"]) for p in installed}
    assert got == expected
    assert len(installed) == len(expected)  # one entry per distribution, no duplicates
    # nothing else in the image looks like a Python lock file
    assert len(_of_type(scan, "python")) == len(installed)


def test_npm_packages_equal_npm_ls(debian: DebianImage, scan: dict[str, Any]) -> None:
    expected = set(_npm_tree(json.loads(debian.npm_list.read_text())))
    assert ("express", "4.18.2") in expected
    # npm ls lists 129 nodes (deduplicated dependencies repeat), 71 distinct name@version
    assert len(expected) == 71
    installed = {(p["name"], p["version"]) for p in _npm_installed(scan)}
    assert installed == expected
    # /app/package-lock.json names the same 71: each merges into its installed package
    # (one entry per package, not 142), and none is left over as a declared-only entry
    assert len(_of_type(scan, "npm")) == len(_npm_installed(scan)) == len(expected)
    assert _npm_locked(scan) == []
    assert not any(p["declared"] for p in scan["packages"])


def test_installed_packages_keep_their_lock_file_location(debian: DebianImage) -> None:
    result = run_cli("scan", debian.oci_ref, "--format", "cyclonedx", "--quiet",
                     "--scanners", "packages")
    assert result.returncode == 0, result.stderr
    components = [c for c in json.loads(result.stdout)["components"]
                  if c.get("purl", "").startswith("pkg:npm/")]
    assert len(components) == 71
    for component in components:
        paths = {p["value"] for p in component["properties"] if p["name"] == "portcullis:path"}
        assert len(paths) == 2, component["name"]
        assert f"{NPM_PREFIX}/package-lock.json" in paths
        [installed] = paths - {f"{NPM_PREFIX}/package-lock.json"}
        assert installed.startswith(f"{NPM_PREFIX}/node_modules/"), paths
        assert installed.endswith("/package.json"), paths


def test_each_package_is_in_the_layer_of_its_step(debian: DebianImage,
                                                  scan: dict[str, Any]) -> None:
    layers = debian.layers
    assert len(scan["artifact"]["layers"]) == len(layers) == len(debian.diff_ids)
    history = [layer["created_by"] for layer in scan["artifact"]["layers"]]
    assert history[layers["pip"]].startswith("RUN pip install ")
    assert history[layers["npm"]].startswith("RUN npm install ")
    assert history[layers["upgrade"]] == f"RUN dpkg -i {DEMO_PACKAGE}_{DEMO_NEW}_all.deb"

    assert {p["layer"] for p in _installed_python(scan)} == {layers["pip"]}
    assert {p["layer"] for p in _of_type(scan, "npm")} == {layers["npm"]}

    debs = _of_type(scan, "deb")
    demo = [p for p in debs if p["name"] == DEMO_PACKAGE]
    assert [(p["version"], p["layer"]) for p in demo] == [(DEMO_NEW, layers["upgrade"])]
    assert DEMO_OLD != DEMO_NEW
    deb_layers = {p["name"]: p["layer"] for p in debs}
    for name, layer in debian.package_layers.items():
        assert deb_layers[name] == layer, name
    assert deb_layers["curl"] == layers["apt"] == 1
    assert deb_layers["libc6"] == layers["base"] == 0
    # the apt layer added packages; the upgrade layer brought exactly one (new) version
    assert sum(1 for p in debs if p["layer"] == layers["apt"]) > 1
    assert [p["name"] for p in debs if p["layer"] == layers["upgrade"]] == [DEMO_PACKAGE]
    # the pip, npm and whiteout layers leave the dpkg database alone
    assert not any(p["layer"] in (layers["app"], layers["pip"], layers["npm"]) for p in debs)
