"""The image-document decoders under fuzzing, their seeds, and a seeded mutator.

Shared by tests/property/test_fuzz_decoders.py (hypothesis, a few hundred inputs per run) and
bench/fuzz_decoders.py (plain ``random``, 100,000 inputs). The law is the same everywhere:
whatever bytes come in, a decoder returns its record or raises a PortcullisError subclass;
anything else (TypeError, RecursionError, ...) is a crash.
"""

from __future__ import annotations

import json
import random
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portcullis.errors import PortcullisError
from portcullis.model.image import ImageConfig
from portcullis.source.docker_archive import decode_manifest_json
from portcullis.source.manifest import Descriptor, load_json, parse_document
from tests.images import kit

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
"""Inputs that once crashed a decoder (or were built to), one file each: ``<decoder>-*.json``."""


def _config(data: bytes) -> object:
    return ImageConfig.from_json(load_json(data, "config"), "config")


def _descriptor(data: bytes) -> object:
    return Descriptor.from_json(load_json(data, "descriptor"), "descriptor")


DECODERS: dict[str, Callable[[bytes], object]] = {
    "manifest_json": lambda data: decode_manifest_json(data, "manifest.json"),
    "document": lambda data: parse_document(data, "index.json"),
    "config": _config,
    "descriptor": _descriptor,
}


def outcome(decoder: str, data: bytes) -> tuple[str, str | None]:
    """("decoded" | "refused" | "crash", the traceback of a crash)."""
    try:
        DECODERS[decoder](data)
    except PortcullisError:
        return "refused", None
    except Exception:
        return "crash", traceback.format_exc()
    return "decoded", None


def crash_of(decoder: str, data: bytes) -> str | None:
    """None when ``data`` decodes or is refused with a PortcullisError; else the traceback."""
    return outcome(decoder, data)[1]


def seeds() -> dict[str, list[Any]]:
    """Valid documents of every kind, as real tools write them, to mutate from."""
    spec = kit.sample_image()
    sink = kit.BlobSink()
    manifest = kit.oci_manifest(spec, sink)
    layout = kit.layout_files([(spec, "1.0")], as_index=True)
    nested = [json.loads(data) for name, data in layout.items()
              if name.startswith("blobs/") and b'"manifests"' in data]
    docker, _ = kit.docker_archive_files(spec, style="legacy")
    config = spec.config_doc()
    # Fields real outputs leave null or empty (docker, podman, buildah, kaniko).
    nullish = dict(config, config={"Env": None, "Labels": None, "ExposedPorts": {},
                                   "Entrypoint": None, "Cmd": "sh", "User": ""},
                   container_config={"Cmd": ["/bin/sh"]})
    del nullish["history"]
    return {
        "manifest_json": [json.loads(docker["manifest.json"])],
        "document": [manifest, json.loads(layout["index.json"]), *nested],
        "config": [config, nullish],
        "descriptor": [manifest["config"], *manifest["layers"]],
    }


# --- a seeded mutator for the long runs ------------------------------------------------------------

KEYS = ["Config", "Layers", "RepoTags", "config", "container_config", "layers", "manifests",
        "mediaType", "digest", "size", "platform", "annotations", "architecture", "os",
        "variant", "schemaVersion", "Env", "Entrypoint", "Cmd", "ExposedPorts", "Labels",
        "User", "WorkingDir", "Healthcheck", "history", "rootfs", "diff_ids", "created_by",
        "empty_layer", "created", "comment"]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """Any JSON value, usually small, sometimes deep."""
    roll = rng.random()
    if depth > 6 or roll < 0.45:
        return rng.choice([
            None, True, False, 0, -1, 2**63, 2**64, 1.5, -0.0, 1e308, "", "x",
            "sha256:" + "a" * 64, "sha256:zz", "\x00", "\u2603", rng.randint(-(2**70), 2**70),
            "[" * rng.randint(1, 200), rng.choice(KEYS),
        ])
    if roll < 0.7:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def paths_of(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths_of(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += paths_of(value, (*here, i))
    return out


def replace_at(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = replace_at(copy[path[0]], path[1:], value)
    return copy


def mutate(rng: random.Random, doc: Any) -> bytes:
    """One hostile variant of ``doc``: a subtree swapped, nesting, or damaged bytes."""
    roll = rng.random()
    if roll < 0.3:
        for _ in range(rng.randint(1, 3)):
            doc = replace_at(doc, rng.choice(paths_of(doc)), random_value(rng))
        return json.dumps(doc).encode()
    if roll < 0.6:
        # Keep the shape, change the content: what a well-formed but odd document looks like.
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(paths_of(doc))
            doc = replace_at(doc, path, _same_shape(rng, _get(doc, path)))
        return json.dumps(doc).encode()
    if roll < 0.7:
        depth = rng.choice([10, 63, 64, 65, 1000, 100_000])
        opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
        inner = json.dumps(doc)
        return (opener * depth + inner + closer * depth).encode()
    data = bytearray(json.dumps(doc).encode())
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        pos = rng.randrange(len(data) + 1)
        if kind < 0.4 and data:
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif kind < 0.7:
            data[pos:pos] = rng.choice([b"[", b"{", b"]", b"}", b'"', b"\\", b"\\ud800", b"\xff",
                                        b",", b":", b"null", b"1e999"])
        else:
            del data[pos:pos + rng.randint(1, 16)]
    return bytes(data)


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _same_shape(rng: random.Random, value: Any) -> Any:
    if isinstance(value, dict) and value:
        keep = rng.sample(sorted(value), rng.randint(0, len(value)))
        return {k: value[k] for k in keep}
    if isinstance(value, list):
        return value[: rng.randint(0, len(value))] * rng.randint(1, 2)
    if isinstance(value, str):
        return rng.choice(["", value[::-1], value * 2, "\u2603", "sha256:" + "0" * 64, "a/b:c"])
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([0, -value, value * 1000, 2**62])
    return None
