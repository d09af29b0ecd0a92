"""``db push`` / ``db pull``: the session's real database moved through a real docker-registry
on 127.0.0.1 as an OCI artifact, without and with authentication (htpasswd), and refused
when what is pulled is not a database or is damaged in the registry's storage."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.conftest import (
    PASSWORD,
    REGISTRY_MISSING,
    USER,
    Registry,
    _skip_without_tools,
)
from tests.integration.registry_server import RegistryServer, htpasswd_line, start_registry

pytestmark = [
    pytest.mark.registry,
    pytest.mark.skipif(REGISTRY_MISSING is not None, reason=REGISTRY_MISSING or ""),
    pytest.mark.usefixtures("registry_env"),  # no credentials from the developer's setup
    pytest.mark.timeout(180),
]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    _skip_without_tools()
    server = start_registry(tmp_path_factory.mktemp("db-plain"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    _skip_without_tools()
    root = tmp_path_factory.mktemp("db-basic")
    (root / "htpasswd").write_text(htpasswd_line(USER, PASSWORD))
    server = start_registry(root, {"htpasswd": {"realm": "portcullis-test",
                                                "path": str(root / "htpasswd")}})
    yield server
    server.stop()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(server: RegistryServer, repo: str, tag: str) -> dict:  # type: ignore[type-arg]
    link = (server.storage / "docker/registry/v2/repositories" / repo / "_manifests/tags" / tag
            / "current/link").read_text()
    return json.loads(server.blob_data(link).read_bytes())  # type: ignore[no-any-return]


def test_push_then_pull_gives_the_same_database(plain: RegistryServer, test_vuln_db: Path,
                                                tmp_path: Path) -> None:
    ref = f"{plain.host}/portcullis/db:latest"
    pushed = run_cli("db", "push", ref, "--db", str(test_vuln_db))
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith(f"pushed {test_vuln_db} (built ")
    manifest = _manifest(plain, "portcullis/db", "latest")
    assert manifest["config"]["mediaType"] == "application/vnd.portcullis.vulndb.config.v1+json"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.portcullis.vulndb.v1.tar+zstd"
    assert plain.blob_data(layer["digest"]).stat().st_size == layer["size"]

    target = tmp_path / "pulled" / "vuln.db"
    pulled = run_cli("db", "pull", ref, "--db", str(target))
    assert pulled.returncode == 0, pulled.stderr
    assert _sha(target) == _sha(test_vuln_db)
    info = run_cli("db", "info", "--db", str(target))
    assert info.returncode == 0 and "schema:          1" in info.stdout
    # A second push of the same database uploads nothing new and gives the same manifest.
    again = run_cli("db", "push", ref, "--db", str(test_vuln_db))
    assert again.returncode == 0 and again.stdout == pushed.stdout


def test_pull_refuses_an_image_and_keeps_the_database(plain_registry: Registry,
                                                      test_vuln_db: Path,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "vuln.db"
    db.write_bytes(test_vuln_db.read_bytes())
    image = plain_registry.images["app"]
    proc = run_cli("db", "pull", f"{image.server.host}/{image.repo}:{image.tag}", "--db",
                   str(db))
    assert proc.returncode == 2
    assert "not a Portcullis vulnerability database (config media type" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _sha(db) == _sha(test_vuln_db)


def test_a_damaged_blob_in_the_registry_keeps_the_database(plain: RegistryServer,
                                                           test_vuln_db: Path,
                                                           tmp_path: Path) -> None:
    ref = f"{plain.host}/portcullis/damaged:1"
    assert run_cli("db", "push", ref, "--db", str(test_vuln_db)).returncode == 0
    blob = plain.blob_data(_manifest(plain, "portcullis/damaged", "1")["layers"][0]["digest"])
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    try:
        db = tmp_path / "vuln.db"
        db.write_bytes(b"the old database")
        proc = run_cli("db", "pull", ref, "--db", str(db))
        assert proc.returncode == 2
        assert "does not match its digest" in proc.stderr, proc.stderr
        assert db.read_bytes() == b"the old database"
        assert not [p.name for p in tmp_path.iterdir() if ".pull-" in p.name]  # no leftovers
    finally:
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))


def test_an_authenticated_registry(basic: RegistryServer, test_vuln_db: Path,
                                   tmp_path: Path) -> None:
    ref = f"{basic.host}/private/db:2026-12-01"
    anonymous = run_cli("db", "push", ref, "--db", str(test_vuln_db))
    assert anonymous.returncode == 2
    assert "authentication required, no credentials" in anonymous.stderr
    pushed = run_cli("db", "push", ref, "--db", str(test_vuln_db), "--username", USER,
                     "--password-stdin", stdin=PASSWORD + "\n")
    assert pushed.returncode == 0, pushed.stderr
    target = tmp_path / "vuln.db"
    denied = run_cli("db", "pull", ref, "--db", str(target), "--username", USER,
                     "--password-stdin", stdin="wrong\n")
    assert denied.returncode == 2 and "authentication failed" in denied.stderr
    assert not target.exists()
    pulled = run_cli("db", "pull", ref, "--db", str(target),
                     env={"PORTCULLIS_USERNAME": USER, "PORTCULLIS_PASSWORD": PASSWORD})
    assert pulled.returncode == 0, pulled.stderr
    assert _sha(target) == _sha(test_vuln_db)


def test_push_needs_a_tag(plain: RegistryServer, test_vuln_db: Path) -> None:
    proc = run_cli("db", "push", f"{plain.host}/portcullis/db@sha256:{'a' * 64}", "--db",
                   str(test_vuln_db))
    assert proc.returncode == 2 and "push needs a tag" in proc.stderr


def test_a_token_registry(token_registry: Registry, test_vuln_db: Path, tmp_path: Path) -> None:
    """Bearer tokens: pulling needs the pull scope, pushing asks the issuer for push too."""
    ref = f"{token_registry.host}/example/db:1"
    creds = {"PORTCULLIS_USERNAME": USER, "PORTCULLIS_PASSWORD": PASSWORD}
    pushed = run_cli("db", "push", ref, "--db", str(test_vuln_db), env=creds)
    assert pushed.returncode == 0, pushed.stderr
    assert token_registry.issuer is not None
    # The registry names the actions in its challenge in either order (Go map order).
    asked = {frozenset(scope.rpartition(":")[2].split(","))
             for r in token_registry.issuer.requests for scope in r.scopes
             if scope.startswith("repository:example/db:")}
    assert frozenset({"pull", "push"}) in asked, asked
    pulled = run_cli("db", "pull", ref, "--db", str(tmp_path / "vuln.db"), env=creds)
    assert pulled.returncode == 0, pulled.stderr
    assert _sha(tmp_path / "vuln.db") == _sha(test_vuln_db)
