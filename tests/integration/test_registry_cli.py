"""The registry as a pipeline meets it: through the CLI, with exit codes and one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import one_line_error, run_cli
from tests.integration.conftest import PASSWORD, USER, Registry
from tests.integration.registry_server import FaultProxy, Faults, free_port, silent_server


@pytest.fixture
def proxy(plain_registry: Registry) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(plain_registry.server.port)
    yield fault_proxy
    fault_proxy.stop()


def test_scan_from_registry(plain_registry: Registry) -> None:
    pushed = plain_registry.images["app"]
    result = run_cli("scan", pushed.by_digest, "--format", "json", "--quiet")
    assert result.returncode == 0, result.stderr
    art = json.loads(result.stdout)["artifact"]
    assert art["source"] == "registry" and art["manifest_digest"] == pushed.digest
    assert [layer["diff_id"] for layer in art["layers"]] == pushed.spec.diff_ids


def test_password_from_stdin(basic_registry: Registry) -> None:
    pushed = basic_registry.images["app"]
    result = run_cli("scan", pushed.by_tag, "--format", "json", "--quiet",
                     "--username", USER, "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    refused = run_cli("scan", pushed.by_tag, "--username", USER, "--password-stdin",
                      stdin="wrong\n")
    line = one_line_error(refused)
    assert "wrong" not in line and PASSWORD not in line


def test_anonymous_on_auth_registry(basic_registry: Registry) -> None:
    line = one_line_error(run_cli("scan", basic_registry.images["app"].by_tag))
    assert "auth" in line.lower()


def test_missing_tag(plain_registry: Registry) -> None:
    line = one_line_error(run_cli("scan", f"registry:{plain_registry.host}/example/app:nope"))
    assert "nope" in line


def test_server_errors_then_success(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(fail_first=2, fail_status=500)
    pushed = plain_registry.images["app"]
    result = run_cli("scan", f"registry:{proxy.host}/{pushed.repo}:{pushed.tag}", "--format",
                     "json", "--quiet")
    assert result.returncode == 0, result.stderr


def test_persistent_500(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(fail_first=10**6, fail_status=500)
    pushed = plain_registry.images["app"]
    line = one_line_error(run_cli("scan", f"registry:{proxy.host}/{pushed.repo}:{pushed.tag}",
                                  "--timeout", "2", "--retries", "1"))
    assert "500" in line


def test_hanging_registry_times_out() -> None:
    with silent_server() as host:
        line = one_line_error(run_cli("scan", f"registry:{host}/example/app:1.0",
                                      "--timeout", "1", "--retries", "0", timeout=120))
    assert "timed out" in line


def test_unreachable_registry() -> None:
    line = one_line_error(run_cli("scan", f"registry:127.0.0.1:{free_port()}/example/app:1.0",
                                  "--retries", "1"))
    assert "connect" in line
