"""``portcullis`` command line."""

from __future__ import annotations

import io
import logging
import os
import signal
import sys
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from portcullis import __version__
from portcullis.cli import exit_codes
from portcullis.cli.base import base as base_group
from portcullis.cli.cache import CACHE_DIR_HELP, default_cache_dir
from portcullis.cli.cache import cache as cache_group
from portcullis.cli.db import db as db_group
from portcullis.cli.progress import RichProgress
from portcullis.cli.sizes import SizeType
from portcullis.errors import ConfigError
from portcullis.limits import ScanLimits
from portcullis.model.finding import Severity
from portcullis.model.image import Platform
from portcullis.model.report import Report
from portcullis.progress import NullProgress, Progress
from portcullis.report.base import writers
from portcullis.source.base import SourceOptions

SEVERITIES = ["none", "low", "medium", "high", "critical", "unknown"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Verbose logs and tracebacks for internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Portcullis: keep unsafe container images out of production."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


cli.add_command(base_group)
cli.add_command(db_group)
cli.add_command(cache_group)


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"portcullis {__version__}")


def _format_choices() -> list[str]:
    return list(writers())


@cli.command()
@click.argument("image")
@click.option("--scanners", default="all", show_default=True,
              help="Comma list: vuln,secret,malware,baseline,compliance,packages,files,"
                   "base-image; 'all' or 'none' (only read the layers).")
@click.option("--format", "fmt", type=click.Choice(_format_choices()), default=None,
              help="Report format (default: table on a terminal, json otherwise).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here instead of stdout.")
@click.option("--report", "reports", multiple=True, metavar="FMT=PATH",
              help="Also write FMT to PATH (repeatable).")
@click.option("--fail-on", type=click.Choice(SEVERITIES, case_sensitive=False), default="none",
              show_default=True, help="Exit 1 when a finding at or above this severity exists.")
@click.option("--platform", help="OS/ARCH[/VARIANT] to pick from a multi-platform image.")
@click.option("--username", envvar="PORTCULLIS_USERNAME", help="Registry user name.")
@click.option("--password-stdin", is_flag=True, help="Read the registry password from stdin.")
@click.option("--insecure", is_flag=True, help="Allow plain HTTP / unverified TLS registries.")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Network timeout in seconds.")
@click.option("--retries", type=click.IntRange(0, 20), default=4, show_default=True,
              help="Retries (with backoff) for registry 429/5xx, resets and timeouts.")
@click.option("--quiet", "-q", is_flag=True, help="No progress; only the report and errors.")
@click.option("--max-image-size", type=SizeType(), help="Largest compressed image (e.g. 20G).")
@click.option("--max-layer-size", type=SizeType(), help="Largest compressed layer blob.")
@click.option("--max-layer-bytes", type=SizeType(),
              help="Largest decompressed layer (decompression-bomb guard).")
@click.option("--max-files", type=int, help="Most tar entries in the whole image.")
@click.option("--temp-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where spooled data goes (default: the system temp dir).")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), envvar="PORTCULLIS_DB",
              help="Vulnerability database (default: ~/.cache/portcullis/db/vuln.db; "
                   "`portcullis db update` builds it).")
@click.option("--db-max-age", type=click.IntRange(0, 3650), default=7, show_default=True,
              metavar="DAYS", help="Warn when the vulnerability database is older than this.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="PORTCULLIS_CACHE_DIR", help=CACHE_DIR_HELP)
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the layer cache: every layer is read and analysed.")
@click.option("--cache-max-size", type=SizeType(), default="2G", show_default=True,
              help="Largest the layer cache may grow; least recently used entries go first.")
@click.option("--parallel", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Layers analysed at once, each in its own process (default: the CPUs "
                   "available to this process, cgroup quota included).")
@click.option("--offline", is_flag=True,
              help="Never download anything (a scan only reads the image and the local "
                   "database; this makes that explicit).")
@click.pass_context
def scan(ctx: click.Context, image: str, scanners: str, fmt: str | None, output: Path | None,
         reports: tuple[str, ...], fail_on: str, platform: str | None, username: str | None,
         password_stdin: bool, insecure: bool, timeout: float, retries: int, quiet: bool,
         max_image_size: int | None, max_layer_size: int | None,
         max_layer_bytes: int | None, max_files: int | None, temp_dir: Path | None,
         db: Path | None, db_max_age: int, cache_dir: Path | None, no_cache: bool,
         cache_max_size: int, parallel: int | None, offline: bool) -> None:
    """Scan IMAGE (see the README for the reference forms)."""
    with exit_codes.exit_on_error("scan", debug=bool(ctx.obj.get("debug"))):
        code = _scan(image, scanners=scanners, fmt=fmt, output=output, reports=reports,
                     fail_on=fail_on, platform=platform, username=username,
                     password_stdin=password_stdin, insecure=insecure, timeout=timeout,
                     retries=retries, quiet=quiet, temp_dir=temp_dir, db=db,
                     db_max_age=db_max_age,
                     cache=None if no_cache else (cache_dir or default_cache_dir(),
                                                  cache_max_size),
                     parallel=parallel,
                     limits={"max_image_size": max_image_size, "max_layer_size": max_layer_size,
                             "max_layer_bytes": max_layer_bytes, "max_files": max_files})
    sys.exit(code)


def _parse_reports(reports: tuple[str, ...]) -> list[tuple[str, Path]]:
    out = []
    known = writers()
    for item in reports:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise ConfigError(f"--report wants FMT=PATH, got {item!r}")
        if name not in known:
            raise ConfigError(f"--report: unknown format {name!r} (known: {', '.join(known)})")
        out.append((name, Path(path)))
    return out


def _scan(image: str, *, scanners: str, fmt: str | None, output: Path | None,
          reports: tuple[str, ...], fail_on: str, platform: str | None, username: str | None,
          password_stdin: bool, insecure: bool, timeout: float, retries: int, quiet: bool,
          temp_dir: Path | None, db: Path | None, db_max_age: int,
          cache: tuple[Path, int] | None, parallel: int | None,
          limits: dict[str, int | None]) -> int:
    from portcullis.analyze.parallel import available_cpus
    from portcullis.scan import ScanOptions, parse_scanners
    from portcullis.scan import scan as run_scan

    extra = _parse_reports(reports)
    password = os.environ.get("PORTCULLIS_PASSWORD")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    set_limits = {k: v for k, v in limits.items() if v is not None}
    stderr = Console(stderr=True)
    show_progress = not quiet and stderr.is_terminal and not os.environ.get("CI")
    with ExitStack() as stack:
        progress: Progress = NullProgress()
        if show_progress:
            progress = stack.enter_context(RichProgress(stderr))
        options = ScanOptions(
            scanners=parse_scanners(scanners),
            fail_on=None if fail_on.lower() == "none" else Severity.parse(fail_on),
            db=db,
            db_max_age=timedelta(days=db_max_age),
            cache_dir=cache[0] if cache else None,
            cache_max_bytes=cache[1] if cache else None,
            workers=parallel or available_cpus(),
            source=SourceOptions(
                platform=Platform.parse(platform) if platform else None,
                username=username,
                password=password,
                insecure=insecure,
                timeout=timeout,
                retries=retries,
                temp_dir=temp_dir,
                limits=replace(ScanLimits(), **set_limits),
                progress=progress,
            ),
        )
        report = run_scan(image, options)
    for name, status in sorted(report.scanners.items()):
        if status.status == "failed":  # in the report too; said here so a log shows it
            click.echo(f"portcullis: warning: {name} scanner failed: {status.message}", err=True)
    chosen = fmt or ("table" if sys.stdout.isatty() and output is None else "json")
    _write(report, chosen, output)
    for name, path in extra:
        _write(report, name, path)
    return exit_codes.PASSED if report.verdict.passed else exit_codes.POLICY_FAILED


def _write(report: Report, fmt: str, path: Path | None) -> None:
    spec = writers()[fmt]
    if path is None:
        spec.write(report, sys.stdout, sys.stdout.isatty())
        sys.stdout.flush()
        return
    if path.exists() and not path.is_file():
        # /dev/null, /dev/stdout, a FIFO: write into it; renaming over it would replace it.
        try:
            with path.open("w", encoding="utf-8", errors="backslashreplace") as out:
                _write_to(spec.write, report, out)
        except OSError as e:
            raise ConfigError(f"cannot write report to {path}: {e.strerror}") from e
        return
    # Written beside the target, then renamed: a failed or interrupted write never leaves a
    # truncated report where a pipeline step would read it.
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with partial.open("w", encoding="utf-8", errors="backslashreplace") as out:
            _write_to(spec.write, report, out)
        partial.replace(path)
    except OSError as e:
        raise ConfigError(f"cannot write report to {path}: {e.strerror}") from e
    finally:
        partial.unlink(missing_ok=True)


def _write_to(write: Any, report: Report, out: TextIO) -> None:
    write(report, out, False)


def main() -> None:
    # File names in images are bytes; ones that are not UTF-8 travel as surrogate escapes
    # and are written as \udcXX escapes (valid JSON, never raw invalid UTF-8).
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    signal.signal(signal.SIGTERM, exit_codes.on_sigterm)
    try:
        cli.main(prog_name="portcullis", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        exit_codes.fail("interrupted")
    except click.ClickException as e:
        # Usage errors are one line, as every other error (CONTRACT.md §4).
        exit_codes.fail(e.format_message(), exit_codes.INPUT_ERROR)
    except exit_codes.Terminated:
        exit_codes.fail("terminated")
