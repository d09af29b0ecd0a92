"""Session fixtures for integration tests: real docker-registry servers with test images.

Three flavours, each its own ``docker-registry serve`` process on a free 127.0.0.1 port:
plain, HTTP basic auth (htpasswd) and token auth (a JWT issuer running in this process).
Images are written with ``tests.images.kit`` and pushed with ``skopeo copy``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.images import kit
from tests.integration.registry_server import (
    HTPASSWD,
    REGISTRY_BIN,
    SKOPEO,
    RegistryServer,
    TokenIssuer,
    htpasswd_line,
    push,
    start_registry,
    write_tls_files,
)

USER = "alice"
PASSWORD = "wonderland-42"
REFRESH_TOKEN = "refresh-token-for-alice"

REGISTRY_MISSING = (
    None
    if REGISTRY_BIN.exists() and SKOPEO and HTPASSWD
    else "needs /usr/bin/docker-registry, skopeo and htpasswd "
    "(apt-get install docker-registry skopeo apache2-utils)"
)


@dataclass(frozen=True)
class Pushed:
    """One image in a registry, as pushed by skopeo."""

    server: RegistryServer
    repo: str
    tag: str
    digest: str
    spec: kit.ImageSpec
    specs: tuple[kit.ImageSpec, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.server.host}/{self.repo}"

    @property
    def by_tag(self) -> str:
        return f"registry:{self.name}:{self.tag}"

    @property
    def by_digest(self) -> str:
        return f"registry:{self.name}@{self.digest}"


@dataclass(frozen=True)
class Registry:
    server: RegistryServer
    images: dict[str, Pushed]
    issuer: TokenIssuer | None = None

    @property
    def host(self) -> str:
        return self.server.host


# --------------------------------------------------------------------------- test images


def docker_spec() -> kit.ImageSpec:
    """gzip and plain layers only: convertible to Docker schema 2."""
    return kit.ImageSpec(
        layers=[
            kit.Layer([kit.directory("etc"), kit.file("etc/hostname", "v2s2\n")],
                      created_by="ADD base.tar /"),
            kit.Layer([kit.file("srv/app.sh", "#!/bin/sh\necho v2\n", mode=0o755)],
                      compression="none", created_by="COPY app.sh /srv/"),
        ],
        config={
            "User": "www-data",
            "Env": ["MODE=docker", "PATH=/usr/bin:/bin"],
            "ExposedPorts": {"443/tcp": {}, "80/tcp": {}},
            "Labels": {"format": "v2s2"},
        },
    )


def arch_spec(architecture: str, variant: str | None = None) -> kit.ImageSpec:
    return kit.ImageSpec(
        layers=[kit.Layer([kit.file("etc/arch", f"{architecture}\n")],
                          created_by=f"ADD {architecture}.tar /")],
        architecture=architecture,
        variant=variant,
        config={"Env": [f"ARCH={architecture}"]},
    )


def corrupt_spec() -> kit.ImageSpec:
    """Layers no other image shares: the test damages them in the registry's storage.

    About 200 KiB of incompressible (but deterministic) bytes, so downloads span many reads.
    """
    noise = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(6400))
    return kit.ImageSpec(
        layers=[kit.Layer([kit.file("victim.bin", noise)], created_by="ADD victim.bin /")],
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, kit.ImageSpec]]:
    root = tmp_path_factory.mktemp("layouts")
    out: dict[str, tuple[Path, kit.ImageSpec]] = {}
    for name, spec in (("sample", kit.sample_image()), ("docker", docker_spec()),
                       ("corrupt", corrupt_spec())):
        out[name] = (kit.write_oci_layout(root / name, spec, "1.0"), spec)
    amd64, arm64 = arch_spec("amd64"), arch_spec("arm64", "v8")
    files = kit.layout_files([(amd64, "1.0"), (arm64, None)], as_index=True)
    out["multi"] = (kit.write_tree(root / "multi", files), amd64)
    out["multi-arm64"] = (root / "multi", arm64)
    return out


def _skip_without_tools() -> None:
    if REGISTRY_MISSING:
        pytest.skip(REGISTRY_MISSING)


@pytest.fixture(scope="session")
def plain_registry(
    tmp_path_factory: pytest.TempPathFactory, layouts: dict[str, tuple[Path, kit.ImageSpec]]
) -> Iterator[Registry]:
    _skip_without_tools()
    server = start_registry(tmp_path_factory.mktemp("plain-registry"))
    try:
        images: dict[str, Pushed] = {}

        def add(key: str, repo: str, layout_key: str, *, fmt: str | None = None,
                multi_arch: bool = False, specs: tuple[kit.ImageSpec, ...] = ()) -> None:
            layout, spec = layouts[layout_key]
            digest = push(layout, "1.0", f"{server.host}/{repo}:1.0", fmt=fmt,
                          multi_arch=multi_arch)
            images[key] = Pushed(server, repo, "1.0", digest, spec, specs)

        add("app", "example/app", "sample")
        add("v2", "example/v2", "docker", fmt="v2s2")
        add("multi", "example/multi", "multi", multi_arch=True,
            specs=(layouts["multi"][1], layouts["multi-arm64"][1]))
        add("corrupt", "example/corrupt", "corrupt")
        yield Registry(server, images)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def basic_registry(
    tmp_path_factory: pytest.TempPathFactory, layouts: dict[str, tuple[Path, kit.ImageSpec]]
) -> Iterator[Registry]:
    _skip_without_tools()
    root = tmp_path_factory.mktemp("basic-registry")
    htpasswd = root / "htpasswd"
    htpasswd.write_text(htpasswd_line(USER, PASSWORD))
    server = start_registry(root, {"htpasswd": {"realm": "portcullis-test", "path": str(htpasswd)}})
    try:
        layout, spec = layouts["sample"]
        digest = push(layout, "1.0", f"{server.host}/example/app:1.0", creds=(USER, PASSWORD))
        yield Registry(server, {"app": Pushed(server, "example/app", "1.0", digest, spec)})
    finally:
        server.stop()


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, layouts: dict[str, tuple[Path, kit.ImageSpec]]
) -> Iterator[Registry]:
    _skip_without_tools()
    root = tmp_path_factory.mktemp("token-registry")
    issuer = TokenIssuer(users={USER: PASSWORD}, refresh_tokens={REFRESH_TOKEN: USER}).start()
    cert = root / "issuer.pem"
    cert.write_bytes(issuer.cert_pem())
    auth = {"token": {"realm": issuer.realm, "service": issuer.service,
                      "issuer": issuer.issuer, "rootcertbundle": str(cert)}}
    server = None
    try:
        server = start_registry(root, auth)
        layout, spec = layouts["sample"]
        images = {}
        for key, repo in (("app", "example/app"), ("public", "public/app")):
            digest = push(layout, "1.0", f"{server.host}/{repo}:1.0", creds=(USER, PASSWORD))
            images[key] = Pushed(server, repo, "1.0", digest, spec)
        yield Registry(server, images, issuer)
    finally:
        if server is not None:
            server.stop()
        issuer.stop()


@pytest.fixture(scope="session")
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, layouts: dict[str, tuple[Path, kit.ImageSpec]]
) -> Iterator[Registry]:
    """HTTPS with a self-signed certificate (what ``--insecure`` and loopback tolerate)."""
    _skip_without_tools()
    root = tmp_path_factory.mktemp("tls-registry")
    server = start_registry(root, tls=write_tls_files(root))
    try:
        layout, spec = layouts["docker"]
        digest = push(layout, "1.0", f"{server.host}/example/tls:1.0")
        yield Registry(server, {"app": Pushed(server, "example/tls", "1.0", digest, spec)})
    finally:
        server.stop()


_ENV_CLEAN = ("PORTCULLIS_USERNAME", "PORTCULLIS_PASSWORD", "HTTP_PROXY", "HTTPS_PROXY",
              "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "REGISTRY_AUTH_FILE")


@pytest.fixture
def registry_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials or proxies from the developer's environment; an empty DOCKER_CONFIG."""
    for name in _ENV_CLEAN:
        monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    return config_dir
