"""``portcullis`` command line."""

from __future__ import annotations

import atexit
import gc
import io
import logging
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from portcullis import __version__
from portcullis.cli import exit_codes
from portcullis.cli.cache import CACHE_DIR_HELP, default_cache_dir
from portcullis.cli.lazy import FormatChoice, LazyGroup
from portcullis.cli.sizes import SizeType
from portcullis.errors import ConfigError

# Imported where used: `portcullis --help`, `version` and a scan that writes JSON in a CI
# log do not pay for the model, rich (progress bars, the table), httpx (registries, the
# console) or the other subcommands (tests/unit/test_startup.py keeps it so).
if TYPE_CHECKING:
    from portcullis.analyze.base import CheckSettings
    from portcullis.analyze.malware.settings import MalwareSettings
    from portcullis.model.report import Report
    from portcullis.policy.verdict import Gate

SEVERITIES = ["none", "low", "medium", "high", "critical", "unknown"]


# Subcommand modules are imported when their command runs or its help is shown.
@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             lazy={"base": "portcullis.cli.base:base",
                   "cache": "portcullis.cli.cache:cache",
                   "db": "portcullis.cli.db:db",
                   "pipeline": "portcullis.cli.pipeline:pipeline",
                   "server": "portcullis.cli.server:server",
                   "upload": "portcullis.cli.upload:upload_command"})
@click.option("--debug", is_flag=True, help="Verbose logs and tracebacks for internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Portcullis: keep unsafe container images out of production."""
    if ctx.invoked_subcommand != "scan":  # a scan resumes it once its imports are done
        _resume_gc()
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(f"portcullis {__version__}")


@cli.command()
@click.argument("image")
@click.option("--scanners", default="all", show_default=True,
              help="Comma list: vuln,secret,malware,baseline,compliance,packages,files,"
                   "base-image; 'all' or 'none' (only read the layers).")
@click.option("--format", "fmt", type=FormatChoice(), default="table",
              show_default=True,
              help="Report format (table everywhere; colour only on a terminal).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here instead of stdout.")
@click.option("--report", "reports", multiple=True, metavar="FMT=PATH",
              help="Also write FMT to PATH (repeatable).")
@click.option("--fail-on", type=click.Choice(SEVERITIES, case_sensitive=False), default="none",
              show_default=True, help="Exit 1 when a finding at or above this severity exists.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
              envvar="PORTCULLIS_POLICY", help="Policy file (YAML; see docs/policy.md).")
@click.option("--vex", "vex_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="OpenVEX or CycloneDX VEX document (repeatable).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="An earlier JSON report: only findings new since then can block.")
@click.option("--blocking/--no-blocking", default=None,
              help="Override the policy's blocking switch: --no-blocking reports "
                   "violations but exits 0.")
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
@click.option("--password-dictionary", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), metavar="FILE",
              help="More passwords (one per line) for the baseline weak-password check; tried "
                   "before the built-in list.")
@click.option("--password-budget", type=click.FloatRange(0, 86400), default=60.0,
              show_default=True, metavar="SECONDS",
              help="Wall time the weak-password check may spend (accounts it could not finish "
                   "are named in warnings).")
@click.option("--compliance-policy", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="TOML file whose [compliance] table sets the license "
                                   "categories, banned software and end-of-life rules "
                                   "(default: the built-in policy; see docs/analyzers.md).")
@click.option("--malware-rules", "malware_rules", multiple=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="A directory of YARA rules (.yar/.yara) added to the built-in malware "
                   "rules (repeatable).")
@click.option("--malware-hashes", "malware_hashes", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="A SHA-256 list of known-bad files: one hash a line, or MalwareBazaar CSV "
                   "(repeatable).")
@click.option("--clamd", metavar="SOCKET|HOST:PORT",
              help="Also stream files to this ClamAV daemon (INSTREAM).")
@click.option("--secret-config", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file of extra secret rules and allow rules (see docs/analyzers.md).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="PORTCULLIS_CACHE_DIR", help=CACHE_DIR_HELP)
@click.option("--no-cache", is_flag=True,
              help="Neither read nor write the layer cache: every layer is read and analysed.")
@click.option("--cache-max-size", type=SizeType(), default="2G", show_default=True,
              help="Largest the layer cache may grow; least recently used entries go first.")
@click.option("--parallel", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Layers analysed at once, each in its own process (default: half the "
                   "CPUs available to this process, cgroup quota included; a layer read in "
                   "one process already keeps two busy).")
@click.option("--offline", is_flag=True,
              help="Never download anything (a scan only reads the image and the local "
                   "database; this makes that explicit).")
@click.option("--upload", "upload_to", envvar="PORTCULLIS_SERVER", metavar="URL",
              help="Send the JSON report to the console at URL.")
@click.option("--token", envvar="PORTCULLIS_TOKEN", help="The console project's API token.")
@click.option("--upload-required", is_flag=True,
              help="Exit 2 when the upload fails (by default it only warns).")
@click.pass_context
def scan(ctx: click.Context, image: str, scanners: str, fmt: str, output: Path | None,
         reports: tuple[str, ...], fail_on: str, policy_file: Path | None,
         vex_files: tuple[Path, ...], baseline_file: Path | None, blocking: bool | None,
         platform: str | None, username: str | None,
         password_stdin: bool, insecure: bool, timeout: float, retries: int, quiet: bool,
         max_image_size: int | None, max_layer_size: int | None,
         max_layer_bytes: int | None, max_files: int | None, temp_dir: Path | None,
         db: Path | None, db_max_age: int, password_dictionary: Path | None,
         password_budget: float, compliance_policy: Path | None,
         malware_rules: tuple[Path, ...], malware_hashes: tuple[Path, ...], clamd: str | None,
         secret_config: Path | None, cache_dir: Path | None, no_cache: bool,
         cache_max_size: int, parallel: int | None, offline: bool, upload_to: str | None,
         token: str | None, upload_required: bool) -> None:
    """Scan IMAGE (see the README for the reference forms)."""
    from portcullis.analyze.base import CheckSettings

    with exit_codes.exit_on_error("scan", debug=bool(ctx.obj.get("debug"))):
        gate = _gate(fail_on, policy_file, vex_files, baseline_file, blocking)
        code = _scan(image, scanners=scanners, fmt=fmt, output=output, reports=reports,
                     gate=gate, platform=platform, username=username,
                     password_stdin=password_stdin, insecure=insecure, timeout=timeout,
                     retries=retries, quiet=quiet, temp_dir=temp_dir, db=db,
                     db_max_age=db_max_age,
                     checks=CheckSettings(password_dictionary=password_dictionary,
                                          password_budget=password_budget),
                     compliance_policy=compliance_policy,
                     malware=_malware_settings(malware_rules, malware_hashes, clamd),
                     secret_config=secret_config,
                     upload=(upload_to, token, upload_required),
                     cache=None if no_cache else (cache_dir or default_cache_dir(),
                                                  cache_max_size),
                     parallel=parallel,
                     limits={"max_image_size": max_image_size, "max_layer_size": max_layer_size,
                             "max_layer_bytes": max_layer_bytes, "max_files": max_files})
    sys.exit(code)


def _malware_settings(rules: tuple[Path, ...], hashes: tuple[Path, ...],
                      clamd: str | None) -> MalwareSettings:
    from portcullis.analyze.malware.settings import MalwareSettings, parse_clamd_address

    return MalwareSettings(rule_dirs=rules, hash_lists=hashes,
                           clamd=parse_clamd_address(clamd) if clamd else None)


def _parse_reports(reports: tuple[str, ...]) -> list[tuple[str, Path]]:
    from portcullis.report.base import writers

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


def _gate(fail_on: str, policy_file: Path | None, vex_files: tuple[Path, ...],
          baseline_file: Path | None, blocking: bool | None) -> Gate:
    """Read the policy, VEX documents and baseline before the scan: a bad one is exit 2
    before any time is spent on the image."""
    from portcullis.model.finding import Severity
    from portcullis.policy.verdict import Gate

    policy = None
    if policy_file is not None:
        from portcullis.policy.load import load_policy

        policy = load_policy(policy_file)
    vex = []
    if vex_files:
        from portcullis.policy.vex import read_vex

        vex = [s for path in vex_files for s in read_vex(path)]
    baseline = None
    if baseline_file is not None:
        from portcullis.policy.baseline import read_baseline

        baseline = read_baseline(baseline_file)
    return Gate(policy=policy, vex=tuple(vex), baseline=baseline, blocking=blocking,
                fail_on=None if fail_on.lower() == "none" else Severity.parse(fail_on))


def _scan(image: str, *, scanners: str, fmt: str, output: Path | None,
          reports: tuple[str, ...], gate: Gate, platform: str | None, username: str | None,
          password_stdin: bool, insecure: bool, timeout: float, retries: int, quiet: bool,
          temp_dir: Path | None, db: Path | None, db_max_age: int, checks: CheckSettings,
          compliance_policy: Path | None, malware: MalwareSettings,
          secret_config: Path | None, upload: tuple[str | None, str | None, bool],
          cache: tuple[Path, int] | None, parallel: int | None,
          limits: dict[str, int | None]) -> int:
    from datetime import timedelta

    from msgspec.structs import replace

    from portcullis.analyze.parallel import default_workers
    from portcullis.limits import ScanLimits
    from portcullis.model.image import Platform
    from portcullis.progress import NullProgress, Progress
    from portcullis.scan import ScanOptions, parse_scanners
    from portcullis.scan import scan as run_scan
    from portcullis.source.base import SourceOptions

    policy = None
    if compliance_policy is not None:
        from portcullis.analyze.compliance.policy import load_policy

        policy = load_policy(compliance_policy)
    elif gate.policy is not None and gate.policy.compliance:
        # The policy file's `compliance:` mapping is the same table --compliance-policy reads.
        from portcullis.model.compliance import CompliancePolicy

        policy = CompliancePolicy.from_mapping(gate.policy.compliance, gate.policy.source)

    extra = _parse_reports(reports)
    server, token, required = upload
    if server and token:  # the console project's rules apply to every pipeline
        from portcullis.cli.upload import central_rules

        gate = central_rules(gate, server, token, image, timeout=timeout)
    password = os.environ.get("PORTCULLIS_PASSWORD")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    set_limits = {k: v for k, v in limits.items() if v is not None}
    show_progress = not quiet and _stderr_is_terminal() and not os.environ.get("CI")
    with ExitStack() as stack:
        progress: Progress = NullProgress()
        if show_progress:  # rich only here: a CI log has no terminal
            from rich.console import Console

            from portcullis.cli.progress import RichProgress

            progress = stack.enter_context(RichProgress(Console(stderr=True)))
        options = ScanOptions(
            scanners=parse_scanners(scanners),
            gate=gate,
            db=db,
            db_max_age=timedelta(days=db_max_age),
            checks=checks,
            compliance=policy,
            malware=malware,
            secret_config=secret_config,
            cache_dir=cache[0] if cache else None,
            cache_max_bytes=cache[1] if cache else None,
            workers=parallel or default_workers(),
            on_loaded=_resume_gc,  # the scan's own modules too are loaded by then
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
        try:
            report = run_scan(image, options)
        finally:
            _resume_gc()  # when the scan ended before it loaded its analyzers
    for name, status in sorted(report.scanners.items()):
        if status.status == "failed":  # in the report too; said here so a log shows it
            click.echo(f"portcullis: warning: {name} scanner failed: {status.message}", err=True)
    for warning in report.warnings:
        if warning.analyzer == "policy":  # an expired suppression: said where a log shows it
            click.echo(f"portcullis: warning: {warning.message}", err=True)
    _write(report, fmt, output)
    for name, path in extra:
        _write(report, name, path)
    if server:
        from portcullis.cli.upload import upload_after_scan

        if not upload_after_scan(report, server, token, required=required, timeout=timeout):
            return exit_codes.INPUT_ERROR
    return exit_codes.POLICY_FAILED if report.verdict.exit_blocks else exit_codes.PASSED


def _stderr_is_terminal() -> bool:
    """The rule rich's ``Console.is_terminal`` applies to stderr (TTY_COMPATIBLE, FORCE_COLOR,
    else isatty), without importing rich when there is no terminal."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced, or closed at exit
        return False


def _write(report: Report, fmt: str, path: Path | None) -> None:
    from portcullis.report.base import writers

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


# The cyclic garbage collector is paused from the start of the program (__main__.entry, else
# main()) until a command's own work begins (for a scan: once the command line, the model, the
# engine, the analyzers and their rules are loaded: ScanOptions.on_loaded).
# Start-up makes tens of thousands of objects that live as long as the process (modules,
# classes, compiled patterns) and no garbage: the collector would walk them again and again,
# for nothing. They are then frozen (moved out of every later collection, and not written to
# by a forked layer worker's collections).
class _StartupGC:
    def __init__(self) -> None:
        self.paused = False

    def pause(self, already: bool = False) -> None:
        """``already``: the program's entry turned it off before importing this module."""
        if gc.isenabled():
            gc.disable()
            self.paused = True
        elif already:
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            gc.freeze()
            gc.enable()


_startup_gc = _StartupGC()
_resume_gc = _startup_gc.resume


def main(collector_paused: bool = False) -> None:
    _startup_gc.pause(already=collector_paused)
    try:
        _main()
    finally:
        _resume_gc()


def run(collector_paused: bool = False) -> None:
    """The program (``portcullis.__main__.entry``: the ``portcullis`` command, ``python -m
    portcullis``): ``main()``, then,
    once the output is flushed, leave without the interpreter's teardown, which frees every
    object a scan made one by one (~15 ms of a 0.4 s rescan) and has nothing left to do: the
    commands close their files, pools, threads and temporary folders themselves. An error
    that escapes ``main()`` (a bug) still ends the normal way, with its traceback."""
    try:
        main(collector_paused)
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    # Not under a profiler or a coverage tracer: they write their data at the normal exit.
    traced = sys.gettrace() is not None or sys.getprofile() is not None
    if (code is None or isinstance(code, int)) and not traced:
        _leave(code or 0)
    raise SystemExit(code)  # a message: Python prints it and exits 1


def _leave(code: int) -> None:
    # What the normal exit runs first stays: the atexit callbacks (logging's flush, a
    # wrapper's or sitecustomize's hooks); only the teardown of every object is skipped.
    run_exit_callbacks = getattr(atexit, "_run_exitfuncs", None)
    if callable(run_exit_callbacks):
        run_exit_callbacks()
    else:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a closed stream
            code = code or exit_codes.INPUT_ERROR
    os._exit(code)


def _main() -> None:
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
