"""The generated Jenkins stage, played for real.

``tests/pipeline/harness.groovy`` stands in for Jenkins (which cannot be installed here): it runs
the Jenkinsfile that ``portcullis pipeline jenkins`` prints, step by step, with the credentials
bound from a store. Its ``sh`` steps run the real commands: ``docker`` is Podman (the engine, with
this test's private storage), the scanner image is the one the repository's Dockerfile builds
(tests/images/scanner.py), pulled from a real registry; the image under scan is the real Debian
test image in a second registry that wants a password; the database comes from a local mirror of
the OSV exports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images.debian import DebianImage
from tests.images.scanner import TAG, missing_reason, scanner_image
from tests.integration.conftest import REGISTRY_MISSING
from tests.integration.podman_fixture import PODMAN_MISSING
from tests.integration.registry_server import (
    RegistryServer,
    htpasswd_line,
    push,
    start_registry,
)
from tests.osv_exports import OSV, ExportServer, export_zip, full_ecosystem_zip, serve
from tests.pipeline.tools import HERE, groovy_missing

pytestmark = [pytest.mark.slow, pytest.mark.registry, pytest.mark.daemon]

USER, PASSWORD = "jenkins-ci", "s3cret-for-the-test"
APP = "team/app:1.0"


@dataclass
class Stage:
    apps: RegistryServer
    mirror: RegistryServer
    osv: ExportServer
    env: dict[str, str]
    root: Path


def _skip_reason() -> str | None:
    return (REGISTRY_MISSING or PODMAN_MISSING or groovy_missing() or missing_reason()
            or (None if shutil.which("skopeo") else "needs skopeo"))


def _docker_shim(root: Path, mirror: RegistryServer, apps: RegistryServer) -> dict[str, str]:
    """``docker`` on PATH is Podman with private storage; containers share the host's network
    (the registries listen on 127.0.0.1) and get limits this machine lets runc set."""
    (root / "bin").mkdir()
    flags = (f"--root {root}/storage --runroot {root}/run --storage-driver vfs "
             f"--tmpdir {root}/tmp --volumepath {root}/volumes")
    shim = root / "bin" / "docker"
    shim.write_text(f'#!/bin/sh\nexec podman {flags} "$@"\n')
    shim.chmod(0o755)
    conf = root / "containers.conf"
    conf.write_text('[containers]\nnetns = "host"\n'
                    'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
                    '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
                    'events_logger = "file"\n')
    registries = root / "registries.conf"
    registries.write_text("".join(f'[[registry]]\nlocation = "{server.host}"\ninsecure = true\n'
                                  for server in (mirror, apps)))
    return {**os.environ, "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
            "CONTAINERS_CONF": str(conf), "CONTAINERS_REGISTRIES_CONF": str(registries)}


def _osv_mirror() -> ExportServer:
    from portcullis.vulndb.exports import DEFAULT_ECOSYSTEMS

    server = ExportServer()
    for ecosystem in DEFAULT_ECOSYSTEMS:
        has_records = (OSV / ecosystem).is_dir()
        server.put(ecosystem, full_ecosystem_zip(ecosystem) if has_records else export_zip({}))
    return server


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, debian: DebianImage) -> Iterator[Stage]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("jenkins")
    scanner = scanner_image()
    htpasswd = root / "htpasswd"
    htpasswd.write_text(htpasswd_line(USER, PASSWORD))
    apps = start_registry(root / "apps",
                          {"htpasswd": {"realm": "portcullis-test", "path": str(htpasswd)}})
    mirror = start_registry(root / "mirror")
    try:
        subprocess.run(["skopeo", "copy", "--insecure-policy", "--dest-tls-verify=false",
                        f"oci-archive:{scanner}:{TAG}",
                        f"docker://{mirror.host}/portcullis/scanner:test"],
                       check=True, capture_output=True, timeout=300)
        push(debian.oci_dir, debian.ref, f"{apps.host}/{APP}", creds=(USER, PASSWORD))
        with serve(_osv_mirror()) as osv:
            yield Stage(apps, mirror, osv, _docker_shim(root, mirror, apps), root)
    finally:
        apps.stop()
        mirror.stop()


def _play(stage: Stage, name: str, *options: str, password: str = PASSWORD,
          files: dict[str, str] | None = None) -> tuple[dict[str, object], Path]:
    jenkinsfile = stage.root / f"{name}.Jenkinsfile"
    printed = subprocess.run(
        [sys.executable, "-m", "portcullis", "pipeline", "jenkins", "--image", APP,
         "--registry", stage.apps.host, "--insecure-registry",
         "--scanner-image", f"{stage.mirror.host}/portcullis/scanner:test",
         "--db-source", stage.osv.base_url, *options],
        capture_output=True, text=True, timeout=60, check=True)
    jenkinsfile.write_text(printed.stdout)
    creds = stage.root / "credentials.json"
    creds.write_text(json.dumps({"portcullis-registry": {"username": USER,
                                                         "password": password}}))
    workspace = stage.root / f"{name}-workspace"
    artifacts = stage.root / f"{name}-artifacts"
    workspace.mkdir()
    for file_name, text in (files or {}).items():
        (workspace / file_name).write_text(text)
    done = subprocess.run(
        ["groovy", HERE / "harness.groovy", jenkinsfile, creds, workspace, artifacts],
        capture_output=True, text=True, timeout=1200, check=False,
        env={**stage.env, **_java_home()})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, object] = json.loads((artifacts / "harness.json").read_text())
    return result, artifacts


def _java_home() -> dict[str, str]:
    from tests.pipeline.tools import java_env

    return {"JAVA_HOME": java_env()["JAVA_HOME"]}


def _exits(result: dict[str, object]) -> list[int]:
    steps = result["steps"]
    assert isinstance(steps, list)
    return [step["exit"] for step in steps if step["step"] == "sh"]


def test_blocking_stage_fails_on_the_risky_image(stage: Stage) -> None:
    result, artifacts = _play(stage, "blocking", "--blocking", "--fail-on", "high")
    # pull, db update, scan: the scan blocks (exit 1), so the stage and the build fail
    assert _exits(result) == [0, 0, 1]
    assert result["result"] == "FAILURE"
    report = json.loads((artifacts / "portcullis-report.json").read_text())
    assert report["verdict"]["passed"] is False
    assert report["artifact"]["reference"] == f"registry:{stage.apps.host}/{APP}"
    assert report["scanners"]["vuln"]["status"] == "ok"
    assert any(f["kind"] == "vulnerability" and f["severity"] in ("HIGH", "CRITICAL")
               for f in report["findings"])
    # the JUnit file was published with a failing case per blocking finding
    junit = result["junit"]
    assert isinstance(junit, list) and junit and junit[0]["failures"] >= 1
    assert {"portcullis-report.json", "portcullis-report.sarif"} <= set(result["archived"])  # type: ignore[arg-type]


def test_report_only_stage_passes_with_the_same_findings(stage: Stage) -> None:
    result, artifacts = _play(stage, "report-only", "--no-blocking")
    assert _exits(result) == [0, 0, 0]
    assert result["result"] == "SUCCESS"
    report = json.loads((artifacts / "portcullis-report.json").read_text())
    assert any(f["kind"] == "vulnerability" for f in report["findings"])


def test_a_wrong_password_fails_the_stage_with_exit_2(stage: Stage) -> None:
    """The password comes only from the credential binding: a wrong one makes the registry say
    401 and the scan stop with exit 2 (an input error, never a pass)."""
    result, artifacts = _play(stage, "wrong-password", "--no-blocking", "--no-db-update",
                              password="not-the-password")
    assert _exits(result) == [0, 2]
    assert result["result"] == "FAILURE"
    assert not (artifacts / "portcullis-report.json").exists()


def _suppress_all_until(day: str) -> str:
    return ("version: 1\nsuppressions:\n  - id: '*'\n"
            f"    reason: accepted for the test\n    expires: {day}\n")


def test_an_expired_suppression_no_longer_suppresses(stage: Stage) -> None:
    live, _ = _play(stage, "live-suppression", "--policy", "policy.yaml",
                    files={"policy.yaml": _suppress_all_until("2999-12-31")})
    assert _exits(live) == [0, 0, 0]
    assert live["result"] == "SUCCESS"
    expired, artifacts = _play(stage, "expired-suppression", "--policy", "policy.yaml",
                               files={"policy.yaml": _suppress_all_until("2020-01-31")})
    assert _exits(expired) == [0, 0, 1]
    assert expired["result"] == "FAILURE"
    report = json.loads((artifacts / "portcullis-report.json").read_text())
    assert report["verdict"]["expired_suppressions"]


def test_a_baseline_run_with_nothing_new_passes(stage: Stage) -> None:
    first, artifacts = _play(stage, "before-baseline")
    assert _exits(first) == [0, 0, 1]
    previous = (artifacts / "portcullis-report.json").read_text()
    again, report_dir = _play(stage, "with-baseline", "--baseline",
                              "previous.json", files={"previous.json": previous})
    assert _exits(again) == [0, 0, 0]
    assert again["result"] == "SUCCESS"
    report = json.loads((report_dir / "portcullis-report.json").read_text())
    assert report["findings"] and not any(f["new"] for f in report["findings"])


def test_the_scanner_image_passes_its_own_gate(stage: Stage) -> None:
    """The image CI builds from the Dockerfile is scanned by Portcullis itself, every scan item
    on, with the gate the generated stage uses (--fail-on high): nothing blocks."""
    archive = scanner_image()
    done = subprocess.run(
        [sys.executable, "-m", "portcullis", "scan", f"oci-archive:{archive}", "--quiet",
         "--fail-on", "high", "--format", "json"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["verdict"]["passed"] is True
    assert {name: s["status"] for name, s in report["scanners"].items()
            if s["status"] != "ok"} == {}
    assert report["artifact"]["config"]["user"] == "10001:10001"
