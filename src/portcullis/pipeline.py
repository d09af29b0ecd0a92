"""CI snippets that run the scan for one image and upload to the console: Jenkins, GitHub
Actions, GitLab CI. The API token is always referenced as the CI system's secret (a Jenkins
credential, a repository secret, a masked variable), never written into the snippet."""

from __future__ import annotations

import re
from dataclasses import dataclass

from portcullis import __version__
from portcullis.errors import ConfigError

SYSTEMS = ("jenkins", "github", "gitlab")
SCENARIOS = ("local", "remote")  # an image the pipeline just built, or one in a registry
FAIL_ON = ("critical", "high", "medium", "low")
# Values go into shell commands: only what image references and URLs are made of.
SAFE = re.compile(r"^[A-Za-z0-9._/:@+=-]+$")
SCANNER_IMAGE = f"ghcr.io/portcullis/portcullis:{__version__}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineSpec:
    system: str
    scenario: str
    image: str
    server: str
    project: str
    blocking: bool = True
    fail_on: str = "high"
    scanner_image: str = SCANNER_IMAGE

    def check(self) -> None:
        for name, value, choices in (("system", self.system, SYSTEMS),
                                     ("scenario", self.scenario, SCENARIOS),
                                     ("fail-on", self.fail_on, FAIL_ON)):
            if value not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}: {value!r}")
        for name, value in (("image", self.image), ("server", self.server),
                            ("scanner image", self.scanner_image), ("project", self.project)):
            if not SAFE.match(value):
                raise ConfigError(f"{name} may only contain letters, digits and ._/:@+=- "
                                  f"(it goes into a shell command): {value!r}")


def _scan_command(spec: PipelineSpec) -> list[str]:
    """The ``docker run`` lines (shell), the token taken from $PORTCULLIS_TOKEN."""
    if spec.scenario == "local":
        mount = "-v /var/run/docker.sock:/var/run/docker.sock "
        target = f"docker-daemon:{spec.image}"
        creds = ""
    else:
        mount = ""
        target = f"registry:{spec.image}"
        creds = ("-e PORTCULLIS_USERNAME -e PORTCULLIS_PASSWORD ")
    run = [f"docker run --rm {mount}-e PORTCULLIS_TOKEN {creds}{spec.scanner_image} \\",
           f"  scan {target} --fail-on {spec.fail_on} --format table \\",
           f"  --upload {spec.server} --upload-required"]
    if not spec.blocking:
        # Report only: a policy failure (exit 1) lets the pipeline go on; errors (2, 3) do not.
        run[-1] += " || [ $? -eq 1 ]"
    return [f"docker pull {spec.scanner_image}", *run]


def jenkins(spec: PipelineSpec) -> str:
    lines = _scan_command(spec)
    credential = f"portcullis-token-{spec.project}"
    bindings = [f"string(credentialsId: '{credential}', variable: 'PORTCULLIS_TOKEN')"]
    if spec.scenario == "remote":
        bindings.append("usernamePassword(credentialsId: 'registry-credentials', "
                        "usernameVariable: 'PORTCULLIS_USERNAME', "
                        "passwordVariable: 'PORTCULLIS_PASSWORD')")
    shell = "\n".join(f"          {line}" for line in lines)
    return (
        "stage('Portcullis scan') {\n"
        "  steps {\n"
        f"    // Jenkins credential '{credential}' (Secret text) holds the console token.\n"
        f"    withCredentials([{', '.join(bindings)}]) {{\n"
        "      // Single quotes: the shell, not Groovy, expands the secret (Jenkins masks it).\n"
        "      sh '''\n"
        f"{shell}\n"
        "      '''\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def github(spec: PipelineSpec) -> str:
    env = ["          PORTCULLIS_TOKEN: ${{ secrets.PORTCULLIS_TOKEN }}"]
    if spec.scenario == "remote":
        env += ["          PORTCULLIS_USERNAME: ${{ secrets.REGISTRY_USERNAME }}",
                "          PORTCULLIS_PASSWORD: ${{ secrets.REGISTRY_PASSWORD }}"]
    run = "\n".join(f"          {line}" for line in _scan_command(spec))
    return (
        "  portcullis-scan:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - name: Portcullis scan\n"
        "        env:\n"
        + "\n".join(env) + "\n"
        "        run: |\n"
        f"{run}\n"
    )


def gitlab(spec: PipelineSpec) -> str:
    run = "\n".join(f"    - {line}" for line in _scan_command(spec))
    return (
        "# PORTCULLIS_TOKEN: a masked, protected CI/CD variable of the project.\n"
        "portcullis-scan:\n"
        "  stage: test\n"
        "  image: docker:cli\n"
        "  services: [docker:dind]\n"
        "  script:\n"
        f"{run}\n"
    )


RENDER = {"jenkins": jenkins, "github": github, "gitlab": gitlab}


def render(spec: PipelineSpec) -> str:
    spec.check()
    return RENDER[spec.system](spec)
