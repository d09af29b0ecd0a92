"""Typed decoding of image documents: real shapes pass, wrong shapes name their field."""

from __future__ import annotations

import pytest

from portcullis.errors import DocumentError, LimitExceededError
from portcullis.model.image import ImageConfig
from portcullis.model.json_doc import decode, nesting_deeper_than
from portcullis.source.docker_archive import decode_manifest_json
from portcullis.source.manifest import Index, Manifest, parse_document

DIGEST = "sha256:" + "ab" * 32


def test_config_fields_real_tools_leave_null_or_out() -> None:
    # Shapes seen in docker, podman, buildah and kaniko output.
    config = ImageConfig.from_json({
        "architecture": "arm64", "os": "linux", "variant": "v8",
        "config": {"Env": None, "Labels": None, "ExposedPorts": {}, "Entrypoint": "/init",
                   "Cmd": None, "User": "", "Healthcheck": {"Test": ["CMD", "true"]},
                   "OnBuild": None, "Volumes": {"/data": {}}},
        "rootfs": {"type": "layers", "diff_ids": [DIGEST]},
    })
    assert config.env == () and config.labels == {} and config.exposed_ports == ()
    assert config.entrypoint == ("/init",) and config.cmd == ()
    assert config.history == () and config.diff_ids == (DIGEST,)
    assert str(config.platform) == "linux/arm64/v8"
    assert ImageConfig.from_json({}) == ImageConfig()


def test_empty_config_defers_to_container_config() -> None:
    legacy = ImageConfig.from_json({"config": {}, "container_config": {"Cmd": ["/bin/sh"]}})
    assert legacy.cmd == ("/bin/sh",)
    modern = ImageConfig.from_json({"config": {"User": "1"}, "container_config": {"Cmd": ["x"]}})
    assert modern.cmd == () and modern.user == "1"


@pytest.mark.parametrize(("doc", "message"), [
    ({"config": {"Env": 5}}, "cfg: config.Env: expected array | null, got int"),
    ({"config": {"Labels": {"a": 1}}}, "cfg: config.Labels[...]: expected str, got int"),
    ({"history": [{"empty_layer": "yes"}]},
     "cfg: history[0].empty_layer: expected bool | null, got str"),
    ({"rootfs": {"diff_ids": ["sha256:00"]}}, "cfg: rootfs.diff_ids[0]: digest 'sha256:00' has 2 hex digits"),
    ([], "cfg: expected object, got array"),
])
def test_config_of_the_wrong_shape(doc: object, message: str) -> None:
    with pytest.raises(DocumentError) as err:
        ImageConfig.from_json(doc, "cfg")
    assert str(err.value).startswith(message)


def test_manifest_json_entries() -> None:
    entries = decode_manifest_json(b'[{"Config":"c.json","RepoTags":null,"Layers":["a.tar"],'
                                   b'"LayerSources":{}}]', "m")
    assert entries[0].Config == "c.json" and entries[0].RepoTags is None
    with pytest.raises(DocumentError, match=r"^m: \[0\]\.Layers: expected array, got int$"):
        decode_manifest_json(b'[{"Config":"c.json","Layers":5}]', "m")


def test_documents_by_shape() -> None:
    desc = f'{{"digest":"{DIGEST}","size":3,"platform":{{"architecture":"amd64","os":"linux"}}}}'
    index = parse_document(f'{{"manifests":[{desc}]}}'.encode(), "i")
    assert isinstance(index, Index) and str(index.manifests[0].platform) == "linux/amd64"
    manifest = parse_document(f'{{"config":{desc},"layers":[{desc}]}}'.encode(), "m")
    assert isinstance(manifest, Manifest) and manifest.layers[0].size == 3
    with pytest.raises(DocumentError, match=r"^i: manifests\[0\]\.digest: unsupported digest algorithm"):
        parse_document(b'{"manifests":[{"digest":"md5:00"}]}', "i")
    with pytest.raises(DocumentError, match="neither an image manifest nor an index"):
        parse_document(b'{"schemaVersion":2}', "x")


def test_size_and_depth_are_bounded_before_parsing() -> None:
    with pytest.raises(LimitExceededError):
        decode(b"[" + b"1," * 100 + b"1]", "big", max_size=100)
    with pytest.raises(DocumentError, match=r"^deep: JSON nested deeper than 64 levels$"):
        decode(b"[" * 100_000 + b"]" * 100_000, "deep")
    assert decode(b"[" * 64 + b"]" * 64, "ok") is not None
    assert not nesting_deeper_than(b'["[[[[[[", {"a": "\\"{{{{"}]', 1 + 1)
    assert nesting_deeper_than(b"[[[]]]", 2)
    with pytest.raises(DocumentError, match=r"^bad: not valid JSON"):
        decode(b"[1,", "bad")
