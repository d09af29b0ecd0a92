"""A GitHub Actions workflow with one scan job and a SARIF upload to code scanning.

Secrets come from the repository's secret store (``secrets.NAME``) into the step's environment;
the SARIF upload runs even when the scan blocks, so the findings show up in the Security tab.
"""

from __future__ import annotations

import json

from portcullis.pipeline.base import (
    REPORT_FILES,
    GeneratorSpec,
    PipelineRequest,
    secret_bindings,
)
from portcullis.pipeline.command import scan_commands


def _env(req: PipelineRequest) -> list[str]:
    return [f"{var}: ${{{{ secrets.{stored} }}}}" for var, stored in secret_bindings(req)]


def _run_block(lines: list[str], indent: int) -> str:
    pad = " " * indent
    return "|\n" + "\n".join(pad + line for line in lines)


def render(req: PipelineRequest) -> str:
    cmds = scan_commands(req, "$GITHUB_WORKSPACE", db_source=req.db_source,
                         update_db=req.update_db)
    lines = [cmds.pull] + ([cmds.db_update] if cmds.db_update else []) + [cmds.run]
    env = _env(req)
    env_block = ("        env:\n" + "".join(f"          {line}\n" for line in env)) if env else ""
    build = ("      - name: Build the image\n"
             f"        run: docker build -t {json.dumps(req.image)} .\n"
             if req.scenario == "local" else "")
    blocking = "" if req.blocking else "        continue-on-error: true\n"
    return f"""\
# Portcullis: scan {req.image} ({req.scenario} scenario).
name: portcullis
on:
  push:
  pull_request:
permissions:
  contents: read
  security-events: write
jobs:
  portcullis:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
{build}      - name: Portcullis scan
        id: scan
{blocking}{env_block}        run: {_run_block(lines, 10)}
      - name: Upload SARIF
        if: always()
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: {REPORT_FILES["sarif"]}
      - name: Keep the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: portcullis-reports
          path: portcullis-*
"""


GENERATOR = GeneratorSpec(name="github", description="a GitHub Actions workflow",
                          render=render)
