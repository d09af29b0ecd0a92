"""A declarative Jenkins pipeline (Jenkinsfile) with one scan stage.

Credentials come from Jenkins' store through ``withCredentials`` bindings; the snippet names
their ids only. The JUnit file is published (a failing case per blocking finding), the JSON and
SARIF reports archived, and the stage fails when the scanner exits non-zero: 1 when the policy
blocks, 2 when the image could not be read.
"""

from __future__ import annotations

from portcullis.pipeline.base import REPORT_FILES, GeneratorSpec, PipelineRequest
from portcullis.pipeline.command import scan_commands


def _groovy(text: str) -> str:
    """A single-quoted Groovy string: no interpolation, so ``$VAR`` reaches the shell."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _bindings(req: PipelineRequest) -> list[str]:
    out: list[str] = []
    if req.scenario == "registry":
        out.append(f"usernamePassword(credentialsId: {_groovy(req.registry_credentials)}, "
                   "usernameVariable: 'PORTCULLIS_USERNAME', "
                   "passwordVariable: 'PORTCULLIS_PASSWORD')")
    if req.server:
        out.append(f"string(credentialsId: {_groovy(req.token_credentials)}, "
                   "variable: 'PORTCULLIS_TOKEN')")
    return out


def _steps(req: PipelineRequest) -> list[str]:
    cmds = scan_commands(req, "$WORKSPACE", scanner='"$PORTCULLIS_SCANNER"',
                         db_source=req.db_source, update_db=req.update_db)
    lines = [f"sh {_groovy(cmds.pull)}"]
    if cmds.db_update:
        lines.append(f"sh {_groovy(cmds.db_update)}")
    lines.append(f"sh {_groovy(cmds.run)}")
    bindings = _bindings(req)
    if not bindings:
        return lines
    head = "withCredentials([" + ", ".join(bindings) + "]) {"
    return [head, *("    " + line for line in lines), "}"]


def render(req: PipelineRequest) -> str:
    what = ("the image built on this agent, before it is pushed" if req.scenario == "local"
            else f"{req.target}, before it is promoted")
    unstable = "" if req.blocking else ", skipMarkingBuildUnstable: true"
    blocking = ("on (the stage fails when the policy blocks)" if req.blocking
                else "off (report only)")
    junit = f"junit testResults: {_groovy(REPORT_FILES['junit'])}, allowEmptyResults: true"
    steps = "\n".join(" " * 16 + line for line in _steps(req))
    return f"""\
// Portcullis: scan {what}.
// Blocking: {blocking}.
pipeline {{
    agent any
    environment {{
        PORTCULLIS_SCANNER = {_groovy(req.scanner_image)}
    }}
    stages {{
        stage('Portcullis scan') {{
            steps {{
{steps}
            }}
            post {{
                always {{
                    {junit}{unstable}
                    archiveArtifacts artifacts: 'portcullis-report.*', allowEmptyArchive: true
                }}
            }}
        }}
    }}
}}
"""


GENERATOR = GeneratorSpec(name="jenkins", description="a declarative Jenkinsfile stage",
                          render=render)
