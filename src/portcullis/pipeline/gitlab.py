"""A GitLab CI job that runs inside the scanner image and keeps its reports as artifacts.

GitLab runs jobs in containers, so the job's image is the scanner itself (no Docker-in-Docker).
The image to scan is read from a registry (the project's, usually), or, in the local scenario,
from ``image.tar`` that an earlier job saved as an artifact (``docker save``). Credentials are the
project's masked CI/CD variables; the JUnit file is published as the job's test report.
"""

from __future__ import annotations

import json

from portcullis.pipeline.base import (
    REPORT_FILES,
    GeneratorSpec,
    PipelineRequest,
    secret_bindings,
)
from portcullis.pipeline.command import native_commands

LOCAL_ARCHIVE = "image.tar"


def _exports(req: PipelineRequest) -> list[str]:
    return [f'export {var}="${stored}"' for var, stored in secret_bindings(req)]


def render(req: PipelineRequest) -> str:
    target = f"docker-archive:{LOCAL_ARCHIVE}" if req.scenario == "local" else None
    lines = [*_exports(req), *native_commands(req, target, req.db_source, req.update_db)]
    script = "".join(f"    - {json.dumps(line)}\n" for line in lines)
    allow = "" if req.blocking else "  allow_failure:\n    exit_codes: [1]\n"
    needs = ""
    if req.scenario == "local":
        needs = (f"  # {LOCAL_ARCHIVE}: `docker save {req.image} -o {LOCAL_ARCHIVE}` in the "
                 "build job,\n  # kept as its artifact.\n")
    return f"""\
# Portcullis: scan {req.image} ({req.scenario} scenario).
stages:
  - scan

portcullis:
  stage: scan
{needs}  image:
    name: {json.dumps(req.scanner_image)}
    entrypoint: [""]
  script:
{script}{allow}  artifacts:
    when: always
    paths:
      - portcullis-report.*
      - {REPORT_FILES["junit"]}
    reports:
      junit: {REPORT_FILES["junit"]}
"""


GENERATOR = GeneratorSpec(name="gitlab", description="a GitLab CI job", render=render)
