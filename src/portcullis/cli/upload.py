"""``portcullis upload`` and the upload after ``scan --upload``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from msgspec.structs import replace

from portcullis.cli import exit_codes
from portcullis.errors import ConfigError, PolicyError

# httpx (portcullis.upload) and YAML (the project's policy) are imported when used: `--help`
# lists this command without loading them.
if TYPE_CHECKING:
    from portcullis.model.report import Report
    from portcullis.policy.verdict import Gate


@click.command("upload")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--server", envvar="PORTCULLIS_SERVER", required=True,
              help="The console's URL, e.g. http://127.0.0.1:8080.")
@click.option("--token", envvar="PORTCULLIS_TOKEN", required=True,
              help="The project's API token.")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Network timeout in seconds.")
@click.pass_context
def upload_command(ctx: click.Context, report: Path, server: str, token: str,
                   timeout: float) -> None:
    """Send a JSON REPORT (portcullis scan --format json) to the console."""
    from portcullis.upload import upload

    with exit_codes.exit_on_error("upload", debug=bool(ctx.obj.get("debug"))):
        try:
            body = report.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {report}: {e.strerror}") from None
        done = upload(body, server, token, timeout=timeout)
    said = "uploaded" if done.created else "already there"
    click.echo(f"{report}: {said}: {done.url}")


def upload_after_scan(report: Report, server: str, token: str | None, *, required: bool,
                      timeout: float) -> bool:
    """Send the scan's report; on failure say so on stderr. Returns False when the upload
    failed and ``required`` is set (the scan then exits 2); a failed upload otherwise never
    changes the scan's exit code."""
    from portcullis.upload import UploadError, upload

    # ASCII JSON: file names that are not UTF-8 travel as \udcXX escapes, still valid JSON.
    body = json.dumps(report.to_dict(), ensure_ascii=True).encode("ascii")
    try:
        done = upload(body, server, token or "", timeout=timeout)
    except UploadError as e:
        level = "error" if required else "warning"
        click.echo(f"portcullis: {level}: upload failed: {e}", err=True)
        return not required
    click.echo(f"portcullis: report uploaded: {done.url}", err=True)
    return True


def central_rules(gate: Gate, server: str, token: str, reference: str, *,
                  timeout: float) -> Gate:
    """The gate with the console project's rules added (fetched before the scan). A console
    that cannot be asked leaves the local gate as it is (and says so)."""
    from portcullis.rules import central_gate, parse_rules
    from portcullis.upload import UploadError, fetch_policy, fetch_rules

    try:
        policy = fetch_policy(server, token, timeout=timeout)
        rules = parse_rules(fetch_rules(server, token, timeout=timeout))
    except (UploadError, ValueError, KeyError) as e:
        # One warning and one wait: a console that did not answer once is not asked again.
        click.echo(f"portcullis: warning: the project's rules were not applied, nor its "
                   f"policy: {e}", err=True)
        return gate
    if policy is not None:
        gate = _project_policy(gate, policy, server)
    return central_gate(gate, rules, f"console {server}", reference)


def _project_policy(gate: Gate, text: str, server: str) -> Gate:
    """The gate with the console project's policy, when the scan has no --policy of its own
    (a local policy file wins: it is what the pipeline's author chose for this scan)."""
    from portcullis.policy.load import parse_policy

    if gate.policy is not None:
        click.echo("portcullis: note: the project's policy is not applied: --policy "
                   f"{gate.policy.source} is", err=True)
        return gate
    try:
        return replace(gate, policy=parse_policy(text, f"{server.rstrip('/')}/api/v1/policy"))
    except PolicyError as e:
        click.echo(f"portcullis: warning: the project's policy was not applied: {e}", err=True)
        return gate
