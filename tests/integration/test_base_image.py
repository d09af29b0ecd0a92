"""Base image detection: history, catalog (``portcullis base add``), annotations, and the
``from_base_image`` flags on packages and findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from portcullis.analyze.base import AnalysisContext
from portcullis.analyze.base_catalog import (
    CatalogEntry,
    add_entry,
    best_match,
    load_file,
    shipped_entries,
)
from portcullis.analyze.base_image import BaseImage, history_boundary, identify, parse_base_name
from portcullis.model.distro import Distro
from portcullis.model.finding import Finding, Severity
from portcullis.model.image import HistoryEntry, ImageConfig, ImageInfo, LayerRef
from portcullis.model.report import BaseImageInfo, Report
from tests.conftest import one_line_error, run_cli
from tests.images import kit
from tests.images.kit import Layer, directory, file
from tests.unit.layer_helpers import analysis_context

OS_RELEASE = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
              'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n')
DPKG_STATUS = """Package: base-files
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

"""
LEFT_PAD = json.dumps({"name": "left-pad", "version": "1.3.0", "license": "WTFPL"})

BASE_LAYERS = [
    Layer([directory("etc"), file("etc/os-release", OS_RELEASE), directory("var"),
           directory("var/lib"), directory("var/lib/dpkg"),
           file("var/lib/dpkg/status", DPKG_STATUS)],
          created_by="/bin/sh -c #(nop) ADD file:0123abcd in / "),
    Layer([file("etc/motd", "welcome\n")], created_by="RUN /bin/sh -c echo welcome > /etc/motd"),
]
APP_LAYERS = [
    Layer([directory("app"), file("app/server.js", "console.log('hi')\n")],
          created_by="COPY app /app # buildkit"),
    Layer([directory("app/node_modules"), directory("app/node_modules/left-pad"),
           file("app/node_modules/left-pad/package.json", LEFT_PAD)],
          created_by="RUN /bin/sh -c npm install # buildkit"),
]


def base_spec() -> kit.ImageSpec:
    return kit.ImageSpec(layers=list(BASE_LAYERS), config={"Cmd": ["bash"]},
                         empty_history=[(2, '/bin/sh -c #(nop)  CMD ["bash"]')])


def app_spec(annotations: dict[str, str] | None = None,
             labels: dict[str, str] | None = None) -> kit.ImageSpec:
    config: dict[str, Any] = {"Cmd": ["node", "/app/server.js"]}
    if labels:
        config["Labels"] = labels
    return kit.ImageSpec(
        layers=[*BASE_LAYERS, *APP_LAYERS],
        config=config,
        empty_history=[(2, '/bin/sh -c #(nop)  CMD ["bash"]'),
                       (5, 'CMD ["node", "/app/server.js"]')],
        annotations=annotations or {},
    )


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    return {
        "base": kit.write_oci_layout(tmp_path / "base", base_spec(), ref="1.0"),
        "app": kit.write_oci_layout(tmp_path / "app", app_spec(), ref="2.0"),
    }


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    return tmp_path / "catalog" / "base-images.json"


def scan_json(ref: str, catalog: Path) -> dict[str, Any]:
    result = run_cli("scan", ref, "--format", "json", "--quiet",
                     "--scanners", "packages,base-image",
                     env={"PORTCULLIS_BASE_CATALOG": str(catalog)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_history_method(images: dict[str, Path], catalog: Path) -> None:
    doc = scan_json(f"oci:{images['app']}", catalog)
    layers = doc["artifact"]["layers"]
    assert doc["base_image"] == {
        "name": None, "version": None, "os_name": "debian", "os_version": "12",
        "last_layer": 1, "layer_digest": layers[1]["digest"], "method": "history",
    }
    assert doc["scanners"]["base-image"]["status"] == "ok"


def test_base_image_of_the_base_itself(images: dict[str, Path], catalog: Path) -> None:
    # The base's own history ends with CMD and has no layer above it: no boundary.
    doc = scan_json(f"oci:{images['base']}", catalog)
    assert doc["base_image"] is None
    assert all(p["from_base_image"] is None for p in doc["packages"])


def test_catalog_method_after_base_add(images: dict[str, Path], catalog: Path) -> None:
    added = run_cli("base", "add", f"oci:{images['base']}", "--name", "mybase",
                    "--version", "1.0", "--catalog", str(catalog))
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"added mybase:1.0 (2 layers) to {catalog}"
    entries = load_file(catalog)
    assert [(e.name, e.version, e.os_name, e.os_version) for e in entries] == [
        ("mybase", "1.0", "debian", "12")]
    assert list(entries[0].diff_ids) == base_spec().diff_ids

    doc = scan_json(f"oci:{images['app']}", catalog)
    layers = doc["artifact"]["layers"]
    assert doc["base_image"] == {
        "name": "mybase", "version": "1.0", "os_name": "debian", "os_version": "12",
        "last_layer": 1, "layer_digest": layers[1]["digest"], "method": "catalog",
    }
    # Scanning the base itself now matches the whole chain.
    own = scan_json(f"oci:{images['base']}", catalog)["base_image"]
    assert own["method"] == "catalog" and own["last_layer"] == 1


def test_base_add_defaults_and_replaces(images: dict[str, Path], catalog: Path) -> None:
    first = run_cli("base", "add", f"oci:{images['base']}:1.0", "--catalog", str(catalog))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"added base:1.0 (2 layers) to {catalog}"
    again = run_cli("base", "add", f"oci:{images['base']}:1.0", "--catalog", str(catalog))
    assert again.returncode == 0, again.stderr
    assert [(e.name, e.version) for e in load_file(catalog)] == [("base", "1.0")]
    # The environment variable names the default catalog.
    env_catalog = catalog.parent / "env.json"
    by_env = run_cli("base", "add", f"oci:{images['base']}", "--name", "x",
                     env={"PORTCULLIS_BASE_CATALOG": str(env_catalog)})
    assert by_env.returncode == 0, by_env.stderr
    assert [e.name for e in load_file(env_catalog)] == ["x"]


def test_base_add_errors(tmp_path: Path, catalog: Path) -> None:
    missing = run_cli("base", "add", f"oci:{tmp_path / 'nope'}", "--catalog", str(catalog))
    one_line_error(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    base = kit.write_oci_layout(tmp_path / "b", base_spec())
    broken = run_cli("base", "add", f"oci:{base}", "--name", "b", "--catalog", str(bad))
    assert "catalog" in one_line_error(broken)


def test_annotation_method(tmp_path: Path, catalog: Path) -> None:
    spec = app_spec(annotations={
        "org.opencontainers.image.base.name": "docker.io/library/debian:12",
        "org.opencontainers.image.base.digest": "sha256:" + "ab" * 32,
    })
    ref = kit.write_oci_layout(tmp_path / "annotated", spec)
    doc = scan_json(f"oci:{ref}", catalog)
    assert doc["base_image"]["method"] == "annotation"
    assert (doc["base_image"]["name"], doc["base_image"]["version"]) == ("debian", "12")
    assert doc["base_image"]["last_layer"] == 1
    assert (doc["base_image"]["os_name"], doc["base_image"]["os_version"]) == ("debian", "12")


def test_label_method(tmp_path: Path, catalog: Path) -> None:
    spec = app_spec(labels={"org.opencontainers.image.base.name": "ghcr.io/acme/runtime:3.1"})
    ref = kit.write_oci_layout(tmp_path / "labelled", spec)
    found = scan_json(f"oci:{ref}", catalog)["base_image"]
    assert (found["method"], found["name"], found["version"]) == (
        "label", "ghcr.io/acme/runtime", "3.1")


def test_from_base_image_flags(images: dict[str, Path], catalog: Path) -> None:
    doc = scan_json(f"oci:{images['app']}", catalog)
    by_name = {p["name"]: p for p in doc["packages"]}
    assert by_name["base-files"]["layer"] == 0
    assert by_name["base-files"]["from_base_image"] is True
    assert by_name["left-pad"]["layer"] == 3
    assert by_name["left-pad"]["from_base_image"] is False


def _info(layers: int, history: list[HistoryEntry],
          labels: dict[str, str] | None = None) -> ImageInfo:
    ids = [f"sha256:{i:064x}" for i in range(layers)]
    config = ImageConfig(diff_ids=tuple(ids), history=tuple(history), labels=labels or {})
    return ImageInfo(reference="t", source="test", manifest_digest=None, config_digest=None,
                     config=config,
                     layers=tuple(LayerRef(index=i, diff_id=d, digest=f"sha256:{i + 1:064x}")
                                  for i, d in enumerate(ids)))


def _ctx(info: ImageInfo) -> AnalysisContext:
    return analysis_context(Distro(family="alpine", name="Alpine Linux", version="3.19.1"), info)


def test_finding_flags_in_report() -> None:
    info = _info(3, [])
    findings = (Finding(kind="secret", id="aws", severity=Severity.HIGH, title="t", layer=0),
                Finding(kind="secret", id="gh", severity=Severity.HIGH, title="t", layer=2),
                Finding(kind="baseline", id="user", severity=Severity.LOW, title="t"))
    report = Report(tool_version="0", created_at=datetime(2024, 1, 1, tzinfo=UTC), image=info,
                    distro=None, findings=findings,
                    base_image=BaseImageInfo(name=None, version=None, os_name=None,
                                             os_version=None, last_layer=1, layer_digest=None,
                                             method="history"))
    flags = {f["id"]: f["from_base_image"] for f in report.to_dict()["findings"]}
    assert flags == {"aws": True, "gh": False, "user": None}
    unknown = Report(tool_version="0", created_at=datetime(2024, 1, 1, tzinfo=UTC), image=info,
                     distro=None, findings=findings)
    assert all(f["from_base_image"] is None for f in unknown.to_dict()["findings"])


def test_history_heuristics() -> None:
    layer = HistoryEntry(created_by="RUN x")
    cmd = HistoryEntry(created_by='CMD ["sh"]', empty_layer=True)
    env = HistoryEntry(created_by="ENV A=b", empty_layer=True)
    # The last CMD with layers above it wins (multi-level bases).
    assert history_boundary(_info(4, [layer, cmd, layer, cmd, layer, layer, cmd])) == 1
    assert history_boundary(_info(3, [layer, env, layer, layer])) is None
    assert history_boundary(_info(1, [layer, env])) == 0
    assert history_boundary(_info(1, [])) == 0
    assert history_boundary(_info(2, [layer])) is None  # history does not map to layers
    assert identify(_ctx(_info(3, [layer, layer, layer])), []) is None


def test_catalog_longest_prefix_wins(tmp_path: Path) -> None:
    info = _info(4, [])
    ids = [layer.diff_id for layer in info.layers]
    short = CatalogEntry(name="os", version="1", os_name=None, os_version=None,
                         diff_ids=tuple(ids[:1]))
    longer = CatalogEntry(name="runtime", version="2", os_name=None, os_version=None,
                          diff_ids=tuple(ids[:3]))
    other = CatalogEntry(name="other", version="3", os_name=None, os_version=None,
                         diff_ids=(ids[0], "sha256:" + "f" * 64))
    assert best_match([short, longer, other], ids) == longer
    assert best_match([other], ids) is None
    found = BaseImage(catalog=[short, longer, other]).analyze(None, _ctx(info))  # type: ignore[arg-type]
    assert found.base_image is not None
    assert found.base_image.to_dict() == {
        "name": "runtime", "version": "2", "os_name": "alpine", "os_version": "3.19.1",
        "last_layer": 2, "layer_digest": "sha256:" + f"{3:064x}", "method": "catalog"}
    path = tmp_path / "c.json"
    add_entry(path, short)
    add_entry(path, longer)
    assert load_file(path) == [short, longer]
    assert all(isinstance(e, CatalogEntry) for e in shipped_entries())


@pytest.mark.parametrize(("text", "expected"), [
    ("docker.io/library/debian:12", ("debian", "12")),
    ("debian", ("debian", None)),
    ("ubuntu:22.04", ("ubuntu", "22.04")),
    ("registry.example.com:5000/team/base:1.2", ("registry.example.com:5000/team/base", "1.2")),
    ("ghcr.io/o/app@sha256:" + "a" * 64, ("ghcr.io/o/app", None)),
    ("Not A Name", ("Not A Name", None)),
])
def test_parse_base_name(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_base_name(text) == expected
