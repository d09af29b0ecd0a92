"""The shell lines every CI snippet runs: pull the scanner image, (refresh the database,) run it.

The scanner runs in its own container with the CI workspace mounted at /work, so the reports it
writes land where the CI system publishes them. Secrets travel only as environment variables that
the CI system binds from its credential store (``-e NAME`` without a value passes the variable
through), never on a command line.
"""

from __future__ import annotations

import shlex

import msgspec

from portcullis.pipeline.base import REPORT_FILES, PipelineRequest, secret_bindings

DB_VOLUME = "portcullis-db"  # a named volume keeps the database between runs on one agent
DB_DIR = "/var/lib/portcullis"  # where the scanner image looks for it ($PORTCULLIS_DB)
DOCKER_SOCKET = "/var/run/docker.sock"


class ScanCommands(msgspec.Struct, frozen=True):
    pull: str
    db_update: str | None
    run: str


def scan_commands(req: PipelineRequest, workspace: str, scanner: str | None = None,
                  db_source: str | None = None, update_db: bool = True) -> ScanCommands:
    """``workspace`` is the shell expression for the checkout directory (``$WORKSPACE``...);
    ``scanner`` one for the scanner image when the CI file defines it as a variable."""
    scanner = scanner or shlex.quote(req.scanner_image)
    base = _docker_run(req, workspace)
    update = None
    if update_db:
        args = ["db", "update", "--quiet"]
        if db_source:
            args += ["--source", db_source]
        update = " ".join([*base, scanner, *map(shlex.quote, args)])
    scan = [*base, *_credential_env(req), *_socket(req), scanner,
            *map(shlex.quote, _scan_args(req))]
    return ScanCommands(pull=f"docker pull {scanner}", db_update=update, run=" ".join(scan))


def _docker_run(req: PipelineRequest, workspace: str) -> list[str]:
    # The agent's own uid writes the reports, so the workspace stays cleanable by the agent.
    return ["docker", "run", "--rm", "--user", '"$(id -u):$(id -g)"',
            "-v", f'"{workspace}:/work"', "-w", "/work",
            "-v", f"{DB_VOLUME}:{DB_DIR}"]


def _credential_env(req: PipelineRequest) -> list[str]:
    # -e NAME without a value passes the variable the CI bound through to the container
    return [part for var, _ in secret_bindings(req) for part in ("-e", var)]


def _socket(req: PipelineRequest) -> list[str]:
    if req.scenario != "local":
        return []
    # The image was just built on this agent: the scanner reads it from the daemon.
    return ["-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}",
            "--group-add", f'"$(stat -c %g {DOCKER_SOCKET})"']


def native_commands(req: PipelineRequest, target: str | None = None,
                    db_source: str | None = None, update_db: bool = True) -> list[str]:
    """The same scan for a CI system that runs jobs inside the scanner image itself."""
    lines: list[str] = []
    if update_db:
        args = ["portcullis", "db", "update", "--quiet"]
        if db_source:
            args += ["--source", db_source]
        lines.append(" ".join(map(shlex.quote, args)))
    lines.append(" ".join(map(shlex.quote, ["portcullis", *_scan_args(req, target)])))
    return lines


def _scan_args(req: PipelineRequest, target: str | None = None) -> list[str]:
    args = ["scan", target or req.target]
    for fmt, path in REPORT_FILES.items():
        args += ["--report", f"{fmt}={path}"]
    args += ["--fail-on", req.fail_on if req.blocking else "none"]
    if req.policy:
        args += ["--policy", req.policy]
    if req.baseline:
        args += ["--baseline", req.baseline]
    if req.insecure_registry:
        args.append("--insecure")
    if req.server:
        args += ["--upload", req.server]
    return args
