"""``portcullis pipeline jenkins|github|gitlab``: print a CI snippet (the console's Pipeline
page makes the same ones)."""

from __future__ import annotations

import click

from portcullis import pipeline as snippets
from portcullis.cli import exit_codes


@click.command("pipeline")
@click.argument("system", type=click.Choice(snippets.SYSTEMS))
@click.option("--image", required=True, help="The image the pipeline scans.")
@click.option("--scenario", type=click.Choice(snippets.SCENARIOS), default="local",
              show_default=True, help="local: just built, in the daemon; remote: in a registry.")
@click.option("--server", envvar="PORTCULLIS_SERVER", required=True,
              help="The console's URL the report is uploaded to.")
@click.option("--project", required=True, help="The console project (names the credential).")
@click.option("--fail-on", type=click.Choice(snippets.FAIL_ON), default="high",
              show_default=True, help="Severity that blocks.")
@click.option("--report-only", is_flag=True, help="Never block on the policy (still upload).")
@click.option("--scanner-image", default=snippets.SCANNER_IMAGE, show_default=True,
              help="The Portcullis container image the pipeline runs.")
@click.pass_context
def pipeline(ctx: click.Context, system: str, image: str, scenario: str, server: str,
             project: str, fail_on: str, report_only: bool, scanner_image: str) -> None:
    """Print a SYSTEM CI snippet that scans IMAGE and uploads to the console."""
    with exit_codes.exit_on_error("pipeline", debug=bool(ctx.obj.get("debug"))):
        text = snippets.render(snippets.PipelineSpec(
            system=system, scenario=scenario, image=image, server=server, project=project,
            blocking=not report_only, fail_on=fail_on, scanner_image=scanner_image))
    click.echo(text, nl=False)
