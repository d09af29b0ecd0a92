"""``portcullis db``: build, inspect and move the vulnerability database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from portcullis.cli import exit_codes
from portcullis.errors import VulnDBError
from portcullis.progress import NullProgress, Progress
from portcullis.vulndb.exports import DEFAULT_ECOSYSTEMS, DEFAULT_SOURCE
from portcullis.vulndb.location import default_db_path
from portcullis.vulndb.store import Meta, VulnStore

if TYPE_CHECKING:
    from portcullis.model.reference import RegistryRef
    from portcullis.source.artifact import ArtifactKind
    from portcullis.source.base import SourceOptions
    from portcullis.vulndb.build import BuildResult

# The download and transfer machinery (httpx, zstandard streams) is imported by the commands
# that use it: every `portcullis scan` loads this module to register the group.

_DB_HELP = ("Database file (default: $PORTCULLIS_DB, else "
            "$XDG_CACHE_HOME/portcullis/db/vuln.db, else ~/.cache/portcullis/db/vuln.db).")


def db_option(f: Callable[..., None]) -> Callable[..., None]:
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        help=_DB_HELP)(f)


@click.group("db")
def db() -> None:
    """The vulnerability database, built from the OSV data exports."""


@contextmanager
def _errors(ctx: click.Context, what: str, db_path: Path) -> Iterator[None]:
    """One line and exit 2 on any failure; an interrupt also says the database is unchanged
    (an update or import only renames a complete new file over it)."""
    debug = bool((ctx.obj or {}).get("debug"))
    with exit_codes.exit_on_error(what, debug=debug):
        try:
            yield
        except (KeyboardInterrupt, exit_codes.Terminated) as e:
            word = "interrupted" if isinstance(e, KeyboardInterrupt) else "terminated"
            raise VulnDBError(f"{what} {word}; the database at {db_path} is unchanged") from e


@db.command("update")
@db_option
@click.option("--source", default=DEFAULT_SOURCE, show_default=True, metavar="BASE_URL",
              help="Base URL of the OSV exports (BASE_URL/<Ecosystem>/all.zip): http(s)://, "
                   "file:// or a directory.")
@click.option("--ecosystems", metavar="LIST",
              help="Comma list of ecosystems to fetch, e.g. PyPI,npm,Debian:12 "
                   f"(default: {','.join(DEFAULT_ECOSYSTEMS)}).")
@click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True,
              help="Retries (with backoff and resume) per download.")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Network timeout in seconds.")
@click.option("--kev", metavar="URL_OR_FILE",
              help="CISA Known Exploited Vulnerabilities catalog (JSON) to load: a URL, file:// "
                   "URL or path.")
@click.option("--epss", metavar="URL_OR_FILE",
              help="FIRST EPSS scores (CSV, gzip-compressed or not) to load: a URL, file:// URL "
                   "or path.")
@click.option("--nvd", metavar="URL_OR_FILE", multiple=True,
              help="NVD CVE JSON 2.0 (an API response page, a 2.0 feed file, gzip or not, or one "
                   "CVE object) whose CVSS vectors rate the vulnerabilities whose records carry "
                   "none; repeat for more.")
@click.option("--debian-tracker", metavar="URL_OR_FILE",
              help="Debian security tracker JSON to build in beside OSV (per-release status "
                   "and urgency), e.g. https://security-tracker.debian.org/tracker/data/json: "
                   "a URL, file:// URL or path.")
@click.option("--alpine-secdb", metavar="URL_OR_FILE", multiple=True,
              help="Alpine secdb file (JSON or YAML, one branch and repository) to build in "
                   "beside OSV, e.g. https://secdb.alpinelinux.org/v3.19/main.json; repeat "
                   "for more.")
@click.option("--eol-source", "eol", metavar="URL_OR_FILE",
              help="End-of-life dates (JSON in the form of the shipped eol.json) to check and "
                   "save beside the database, where scans prefer them to the shipped ones: a "
                   "URL, file:// URL or path.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def update_command(ctx: click.Context, db_path: Path | None, source: str,
                   ecosystems: str | None, retries: int, timeout: float, kev: str | None,
                   epss: str | None, nvd: tuple[str, ...], debian_tracker: str | None,
                   alpine_secdb: tuple[str, ...], eol: str | None, quiet: bool) -> None:
    """Download the OSV exports (and the native feeds asked for) and build a new database,
    swapped in atomically."""
    path = db_path or default_db_path()
    with _errors(ctx, "db update", path):
        result = _update(path, source, ecosystems, retries, timeout, quiet,
                         {"kev": kev, "epss": epss, "debian_tracker": debian_tracker,
                          "eol": eol},
                         {"alpine_secdb": alpine_secdb, "nvd": nvd})
        eol_line = _eol_line(path, eol) if eol is not None else None
    _report_update(path, result)
    if eol_line is not None:
        click.echo(eol_line)


def _eol_line(path: Path, source: str) -> str:
    from portcullis.vulndb.eol import eol_path, parse_eol

    target = eol_path(path)
    table = parse_eol(target.read_bytes(), str(target))
    return (f"saved end-of-life dates to {target}: {len(table.products)} products "
            f"(updated {table.updated or 'unknown'}) from {source}")


def _update(path: Path, source: str, ecosystems: str | None, retries: int, timeout: float,
            quiet: bool, extras: dict[str, str | None],
            lists: dict[str, tuple[str, ...]]) -> BuildResult:
    from portcullis.vulndb.fetch import Retry
    from portcullis.vulndb.update import UpdateOptions, parse_ecosystems, update

    names = parse_ecosystems(ecosystems) if ecosystems is not None else DEFAULT_ECOSYSTEMS
    with ExitStack() as stack:
        progress: Progress = NullProgress()
        if not quiet and not os.environ.get("CI"):
            from rich.console import Console  # only for a terminal's progress bars

            from portcullis.cli.progress import RichProgress

            stderr = Console(stderr=True)
            if stderr.is_terminal:
                progress = stack.enter_context(RichProgress(stderr))
        options = UpdateOptions(db_path=path, source=source, ecosystems=names,
                                retry=Retry(retries=retries), timeout=timeout,
                                progress=progress, kev=extras["kev"], epss=extras["epss"],
                                debian_tracker=extras["debian_tracker"],
                                alpine_secdb=lists["alpine_secdb"], nvd=lists["nvd"],
                                eol=extras["eol"])
        return update(options)


def _report_update(path: Path, result: BuildResult) -> None:
    meta = result.meta
    for skip in result.skips:
        click.echo(f"portcullis: warning: skipped {skip}", err=True)
    if meta.skipped > len(result.skips):
        click.echo(f"portcullis: warning: ... and {meta.skipped - len(result.skips)} more "
                   "skipped records", err=True)
    skipped = f", {meta.skipped} records skipped" if meta.skipped else ""
    click.echo(f"updated {path}: {meta.vulnerabilities} vulnerabilities "
               f"({meta.withdrawn} withdrawn), {meta.affected} affected packages from "
               f"{len(meta.sources)} sources{skipped}")
    for name, extra in (("KEV", meta.kev), ("EPSS", meta.epss),
                        *(("NVD", n) for n in meta.nvd)):
        if extra is not None:
            click.echo(f"loaded {name} {extra.version or '(no version)'}: {extra.records} CVEs")


@db.command("info")
@db_option
@click.pass_context
def info_command(ctx: click.Context, db_path: Path | None) -> None:
    """Print the database's metadata."""
    path = db_path or default_db_path()
    with _errors(ctx, "db info", path), VulnStore(path) as store:
        meta = store.meta()
        eol = _eol_info(path)
    click.echo("\n".join([*info_lines(path, meta), eol]))


def _eol_info(path: Path) -> str:
    """Which end-of-life dates scans with this database read."""
    from portcullis.vulndb.eol import eol_path, parse_eol

    target = eol_path(path)
    if not target.is_file():
        return (f"{'eol:':<17}the dates shipped with portcullis "
                "(db update --eol-source refreshes them)")
    try:
        table = parse_eol(target.read_bytes(), str(target))
    except (OSError, VulnDBError) as e:  # scans fall back to the shipped dates, with a warning
        return f"{'eol:':<17}unreadable, scans use the shipped dates: {e}"
    return (f"{'eol:':<17}{len(table.products)} products, updated {table.updated or 'unknown'}, "
            f"from {target}")


def info_lines(path: Path, meta: Meta) -> list[str]:
    lines = [
        f"database:        {path}",
        f"schema:          {meta.schema}",
        f"built at:        {meta.built_at}",
        f"vulnerabilities: {meta.vulnerabilities} ({meta.withdrawn} withdrawn)",
        f"affected:        {meta.affected} package entries",
        f"skipped:         {meta.skipped} records",
    ]
    for name, extra in (("kev", meta.kev), ("epss", meta.epss)):
        text = (f"{extra.records} CVEs, {extra.version or 'no version'}, from {extra.url}, "
                f"fetched {extra.fetched_at}") if extra else "not loaded"
        lines.append(f"{name + ':':<17}{text}")
    for extra in meta.nvd:
        lines.append(f"{'nvd:':<17}{extra.records} CVEs with CVSS, "
                     f"{extra.version or 'no version'}, from {extra.url}, fetched "
                     f"{extra.fetched_at}")
    lines.append("sources:")
    for s in meta.sources:
        modified = f", last modified {s.last_modified}" if s.last_modified else ""
        lines.append(f"  {s.ecosystem}: {s.records} records ({s.withdrawn} withdrawn, "
                     f"{s.skipped} skipped), {s.bytes} bytes from {s.url}, fetched "
                     f"{s.fetched_at}{modified}")
    return lines


@db.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@click.pass_context
def export_command(ctx: click.Context, file: Path, db_path: Path | None) -> None:
    """Write the database to FILE (zstd-compressed, with a checksum)."""
    path = db_path or default_db_path()
    with _errors(ctx, "db export", path):
        from portcullis.vulndb.transfer import export_db

        meta = export_db(path, file)
    click.echo(f"exported {path} (built {meta.built_at}) to {file}")


@db.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@click.pass_context
def import_command(ctx: click.Context, file: Path, db_path: Path | None) -> None:
    """Install the database exported in FILE, after checking it."""
    path = db_path or default_db_path()
    with _errors(ctx, "db import", path):
        from portcullis.vulndb.transfer import import_db

        meta = import_db(file, path)
    click.echo(f"imported {file} (built {meta.built_at}) to {path}")


# ------------------------------------------------------------------ db push / db pull

# The database travels as an OCI artifact: its `db export` file as the one layer.
_ARTIFACT_CONFIG = "application/vnd.portcullis.vulndb.config.v1+json"
_ARTIFACT_LAYER = "application/vnd.portcullis.vulndb.v1.tar+zstd"
_MAX_PULL_BYTES = 8 << 30


def _registry_options(f: Callable[..., None]) -> Callable[..., None]:
    for option in reversed((
        click.option("--username", envvar="PORTCULLIS_USERNAME", help="Registry user name."),
        click.option("--password-stdin", is_flag=True,
                     help="Read the registry password from stdin."),
        click.option("--insecure", is_flag=True,
                     help="Allow plain HTTP / unverified TLS registries."),
        click.option("--timeout", type=float, default=60.0, show_default=True,
                     help="Network timeout in seconds."),
        click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True,
                     help="Retries (with backoff) per registry request."),
    )):
        f = option(f)
    return f


def _artifact_target(reference: str, username: str | None, password_stdin: bool,
                     insecure: bool, timeout: float,
                     retries: int) -> tuple[RegistryRef, SourceOptions, ArtifactKind]:
    import sys

    from portcullis.model.reference import parse_registry_ref
    from portcullis.source.artifact import ArtifactKind
    from portcullis.source.base import SourceOptions

    password = os.environ.get("PORTCULLIS_PASSWORD")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    ref = parse_registry_ref(reference.removeprefix("registry:"))
    options = SourceOptions(username=username, password=password, insecure=insecure,
                            timeout=timeout, retries=retries)
    kind = ArtifactKind(_ARTIFACT_CONFIG, _ARTIFACT_LAYER, "vulnerability database")
    return ref, options, kind


@db.command("push")
@click.argument("reference", metavar="REGISTRY/REPOSITORY:TAG")
@db_option
@_registry_options
@click.pass_context
def push_command(ctx: click.Context, reference: str, db_path: Path | None,
                 username: str | None, password_stdin: bool, insecure: bool, timeout: float,
                 retries: int) -> None:
    """Push the database to a registry as an OCI artifact (credentials as for `scan`)."""
    import tempfile

    path = db_path or default_db_path()
    with _errors(ctx, "db push", path):
        from portcullis.source.artifact import push_file
        from portcullis.vulndb.transfer import export_db

        ref, options, kind = _artifact_target(reference, username, password_stdin, insecure,
                                              timeout, retries)
        with tempfile.TemporaryDirectory(prefix="portcullis-push-") as tmp:
            archive = Path(tmp) / "vuln.db.zst"
            meta = export_db(path, archive)
            config = {"schema": meta.schema, "built_at": meta.built_at,
                      "vulnerabilities": meta.vulnerabilities}
            digest = push_file(ref, options, archive, kind, config,
                               {"org.opencontainers.image.created": meta.built_at})
    click.echo(f"pushed {path} (built {meta.built_at}) to {ref} ({digest})")


@db.command("pull")
@click.argument("reference", metavar="REGISTRY/REPOSITORY[:TAG|@DIGEST]")
@db_option
@_registry_options
@click.pass_context
def pull_command(ctx: click.Context, reference: str, db_path: Path | None,
                 username: str | None, password_stdin: bool, insecure: bool, timeout: float,
                 retries: int) -> None:
    """Pull a database pushed with `db push` and install it, after checking it."""
    path = db_path or default_db_path()
    with _errors(ctx, "db pull", path):
        from portcullis.source.artifact import pull_file
        from portcullis.vulndb.transfer import import_db

        ref, options, kind = _artifact_target(reference, username, password_stdin, insecure,
                                              timeout, retries)
        path.parent.mkdir(parents=True, exist_ok=True)
        archive = path.with_name(f".{path.name}.pull-{os.getpid()}.zst")
        try:
            digest = pull_file(ref, options, archive, kind, _MAX_PULL_BYTES)
            meta = import_db(archive, path)
        finally:
            archive.unlink(missing_ok=True)
    click.echo(f"pulled {ref} ({digest}, built {meta.built_at}) to {path}")
