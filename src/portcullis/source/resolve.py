"""Reference text → opened image. Each scheme's module is imported only when used."""

from __future__ import annotations

import importlib

from portcullis.model.blob import Image
from portcullis.source.base import SourceOptions
from portcullis.source.reference import ImageReference, parse_reference

# scheme → (module, function). Adding a source is one module plus one row here.
OPENERS = {
    "docker-archive": ("portcullis.source.docker_archive", "open_docker_archive"),
    "oci-archive": ("portcullis.source.oci_layout", "open_oci"),
    "oci": ("portcullis.source.oci_layout", "open_oci"),
    "registry": ("portcullis.source.registry", "open_registry_image"),
    "docker-daemon": ("portcullis.source.daemon", "open_daemon_image"),
    "dir": ("portcullis.source.rootfs", "open_rootfs"),
}


def open_image(text: str, options: SourceOptions) -> Image:
    ref = parse_reference(text)
    return open_reference(ref, options)


def open_reference(ref: ImageReference, options: SourceOptions) -> Image:
    module_name, func_name = OPENERS[ref.scheme]
    opener = getattr(importlib.import_module(module_name), func_name)
    image: Image = opener(ref, options)
    return image
