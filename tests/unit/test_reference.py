from __future__ import annotations

from pathlib import Path

import pytest

from portcullis.errors import ConfigError
from portcullis.model.reference import parse_registry_ref
from portcullis.source.reference import parse_reference


@pytest.mark.parametrize(
    ("text", "registry", "repo", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000", "app", "1.0", None),
        ("localhost/ns/app", "localhost", "ns/app", "latest", None),
        ("ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io", "o/r", None, "sha256:" + "a" * 64),
        ("ghcr.io/o/r:v1@sha256:" + "b" * 64, "ghcr.io", "o/r", "v1", "sha256:" + "b" * 64),
        ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", None),
    ],
)
def test_registry_refs_normalise_like_docker(
    text: str, registry: str, repo: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_registry_ref(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repo, tag, digest)
    assert ref.reference == (digest or tag)


@pytest.mark.parametrize("bad", ["UPPER/case", "app:bad tag", "app@sha256:abc", ""])
def test_bad_registry_refs_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_registry_ref(bad)


def test_scheme_forms(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text("{}")
    assert parse_reference(f"oci:{layout}:v1").ref_name == "v1"
    assert parse_reference(f"oci:{layout}").ref_name is None
    assert parse_reference(str(layout)).scheme == "oci"
    assert parse_reference(str(tmp_path)).scheme == "dir"
    assert parse_reference("docker-daemon:app:1").name == "app:1"
    reg = parse_reference("registry:127.0.0.1:5000/a/b:2").registry
    assert reg is not None and (reg.registry, reg.repository, reg.tag) == ("127.0.0.1:5000", "a/b", "2")
    assert parse_reference("busybox").scheme == "registry"


def test_missing_path_like_reference_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no such file"):
        parse_reference("./does-not-exist.tar")
