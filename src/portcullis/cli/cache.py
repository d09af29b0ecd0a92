"""``portcullis cache``: what the layer cache holds, and emptying it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from portcullis.cli import exit_codes

CACHE_DIR_HELP = ("Layer cache folder (default: $PORTCULLIS_CACHE_DIR, else "
                  "$XDG_CACHE_HOME/portcullis/cache, else ~/.cache/portcullis/cache).")


def default_cache_dir() -> Path:
    """The same rule as ``portcullis.cache.default_cache_dir``, without importing the cache
    (msgspec and the analyzers' types) until a scan uses it."""
    explicit = os.environ.get("PORTCULLIS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "portcullis" / "cache"


def _cache_dir_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                        help=CACHE_DIR_HELP)(f)


@click.group("cache")
def cache() -> None:
    """The layer cache: per-layer results that make a rescan read only new layers."""


@cache.command("info")
@_cache_dir_option
@click.pass_context
def info(ctx: click.Context, cache_dir: Path | None) -> None:
    """Where the cache is, how many layer, image, whole-scan, compiled-rule, tree-analyzer
    and match entries it holds, and their size."""
    from portcullis.cache import LayerCacheDir

    with exit_codes.exit_on_error("cache info", debug=bool((ctx.obj or {}).get("debug"))):
        found = LayerCacheDir(cache_dir or default_cache_dir()).info()
        click.echo(f"path:    {found.path}")
        click.echo(f"layers:  {found.layers}")
        click.echo(f"images:  {found.inventories}")
        click.echo(f"results: {found.results}")
        click.echo(f"rules:   {found.rule_sets}")
        click.echo(f"trees:   {found.trees}")
        click.echo(f"matches: {found.matches}")
        click.echo(f"size:    {found.bytes} bytes")
    ctx.exit(exit_codes.PASSED)


@cache.command("clean")
@_cache_dir_option
@click.pass_context
def clean(ctx: click.Context, cache_dir: Path | None) -> None:
    """Remove every entry (the next scan reads every layer)."""
    from portcullis.cache import LayerCacheDir

    with exit_codes.exit_on_error("cache clean", debug=bool((ctx.obj or {}).get("debug"))):
        removed = LayerCacheDir(cache_dir or default_cache_dir()).clean()
        click.echo(f"removed {removed} entries")
    ctx.exit(exit_codes.PASSED)
