"""``portcullis base``: manage the user's catalog of known base images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from portcullis.cli import exit_codes

if TYPE_CHECKING:  # the rest is imported when `base add` runs, not for `portcullis --help`
    from portcullis.model.image import ImageInfo
    from portcullis.source.reference import ImageReference


@click.group()
def base() -> None:
    """Known base images: scans tell their layers and packages apart from yours.

    A scan recognises a base image by its layer chain (diff_ids). `base add` records an image
    in the user catalog (~/.cache/portcullis/base-images.json, or $PORTCULLIS_BASE_CATALOG);
    entries for common official images will come with the database update.
    """


@base.command("add")
@click.argument("image")
@click.option("--name", help="Base image name (default: from the reference or repo tags).")
@click.option("--version", "version", help="Base image version (default: the tag).")
@click.option("--catalog", type=click.Path(dir_okay=False, path_type=Path),
              help="Catalog file to add to (default: the user catalog).")
@click.pass_context
def add(ctx: click.Context, image: str, name: str | None, version: str | None,
        catalog: Path | None) -> None:
    """Record IMAGE (any scan reference form) as a known base image."""
    with exit_codes.exit_on_error("base add", debug=bool((ctx.obj or {}).get("debug"))):
        line = _add(image, name, version, catalog)
    click.echo(line)


def _add(image: str, name: str | None, version: str | None, catalog: Path | None) -> str:
    from portcullis.analyze.base_catalog import CatalogEntry, add_entry, user_catalog_path
    from portcullis.scan import ScanOptions, scan
    from portcullis.source.reference import parse_reference

    ref = parse_reference(image)
    # No scanner: only the layers are read and the OS detected.
    report = scan(image, ScanOptions(scanners=frozenset()))
    info = report.image
    default_name, default_version = default_name_version(ref, info)
    name = name or default_name
    version = version or default_version
    distro = report.distro
    entry = CatalogEntry(
        name=name,
        version=version,
        os_name=distro.family if distro else None,
        os_version=distro.version if distro else None,
        diff_ids=tuple(layer.diff_id for layer in info.layers),
    )
    path = catalog or user_catalog_path()
    add_entry(path, entry)
    label = f"{name}:{version}" if version else name
    return f"added {label} ({len(entry.diff_ids)} layers) to {path}"


def default_name_version(ref: ImageReference, info: ImageInfo) -> tuple[str, str | None]:
    """Name and version as the reference or the image's repo tags tell them."""
    from portcullis.analyze.base_image import parse_base_name

    if ref.registry is not None:
        return parse_base_name(str(ref.registry))
    for tag in info.repo_tags:
        if tag:
            return parse_base_name(tag)
    if ref.name:  # docker-daemon:NAME[:TAG]
        return parse_base_name(ref.name)
    stem = ref.path.name.split(".")[0] if ref.path is not None else ""
    stem = stem or info.reference
    if ref.ref_name:  # oci:DIR:REF: REF is a tag or a full name:tag
        if ":" in ref.ref_name or "/" in ref.ref_name:
            return parse_base_name(ref.ref_name)
        return stem, ref.ref_name
    return stem, None
