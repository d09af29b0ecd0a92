"""``portcullis pipeline jenkins|github|gitlab``: print a CI snippet that scans an image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from portcullis.pipeline.base import (
    DEFAULT_SCANNER_IMAGE,
    SCENARIOS,
    GeneratorSpec,
    PipelineRequest,
    generators,
)

_FAIL_ON = ["low", "medium", "high", "critical"]


def _options(f: Callable[..., None]) -> Callable[..., None]:
    decorators = [
        click.option("--image", required=True, metavar="NAME[:TAG]",
                     help="The image to scan: as built on the agent (local), or its repository "
                          "path in --registry."),
        click.option("--registry", metavar="HOST[:PORT]",
                     help="Scan the image in this registry (scenario 'registry')."),
        click.option("--scenario", type=click.Choice(SCENARIOS), default=None,
                     help="local: the image just built on the agent, before push; registry: "
                          "an image in a (test) registry, before promotion. Default: registry "
                          "when --registry is given, else local."),
        click.option("--blocking/--no-blocking", default=True, show_default=True,
                     help="Fail the stage when the policy blocks, or only report."),
        click.option("--fail-on", type=click.Choice(_FAIL_ON), default="high",
                     show_default=True, help="Lowest severity that blocks."),
        click.option("--policy", metavar="FILE", help="Policy file in the workspace."),
        click.option("--baseline", metavar="FILE",
                     help="An earlier JSON report in the workspace: only findings new since "
                          "it block (e.g. the last release's archived report)."),
        click.option("--server", metavar="URL", help="Upload the report to this console."),
        click.option("--scanner-image", default=DEFAULT_SCANNER_IMAGE, show_default=True,
                     help="The Portcullis image the CI pulls and runs."),
        click.option("--insecure-registry", is_flag=True,
                     help="The registry speaks plain HTTP (a local test registry)."),
        click.option("--db-source", metavar="BASE_URL",
                     help="Mirror of the OSV exports for `db update` (default: the public one)."),
        click.option("--no-db-update", is_flag=True,
                     help="Don't refresh the database (an air-gapped agent imports it)."),
        click.option("--registry-credentials", default="portcullis-registry",
                     show_default=True, help="Id of the stored registry credentials."),
        click.option("--token-credentials", default="portcullis-token", show_default=True,
                     help="Id of the stored console token."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def _command(spec: GeneratorSpec) -> click.Command:
    @click.command(spec.name, help=f"Print {spec.description} that scans --image.")
    @_options
    def command(image: str, registry: str | None, scenario: str | None, no_db_update: bool,
                **options: Any) -> None:
        try:
            req = PipelineRequest(image=image, registry=registry,
                                  scenario=scenario or "",
                                  update_db=not no_db_update, **options)
        except ValueError as e:
            raise click.UsageError(str(e)) from e
        click.echo(spec.render(req), nl=False)

    return command


@click.group("pipeline")
def pipeline() -> None:
    """CI snippets: two commands in the CI job (pull the scanner image, run it)."""


for _spec in generators().values():
    pipeline.add_command(_command(_spec))
