"""The ``registry:`` source against real docker-registry servers (plain, basic, token auth).

Faults come from a proxy in front of the real registry, a port that never answers, and a blob
damaged in the registry's own storage. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from portcullis.errors import (
    AuthError,
    ConfigError,
    DigestMismatchError,
    LimitExceededError,
    NotFoundError,
    PortcullisError,
    SourceError,
)
from portcullis.limits import ScanLimits
from portcullis.model.image import Platform
from portcullis.source.base import SourceOptions
from portcullis.source.credentials import find_credentials, lookup_in_config, server_url
from portcullis.source.reference import parse_reference
from portcullis.source.registry import RegistryImage, open_registry_image, parse_challenges
from tests.images import kit
from tests.integration.conftest import (
    PASSWORD,
    REFRESH_TOKEN,
    REGISTRY_MISSING,
    USER,
    Pushed,
    Registry,
)
from tests.integration.registry_server import FaultProxy, Faults, free_port, silent_server

pytestmark = [
    pytest.mark.registry,
    pytest.mark.skipif(REGISTRY_MISSING is not None, reason=REGISTRY_MISSING or ""),
    pytest.mark.usefixtures("registry_env"),
    pytest.mark.timeout(120),
]

AMD64 = Platform.parse("linux/amd64")


# --------------------------------------------------------------------------- helpers


class RecordingProgress:
    def __init__(self) -> None:
        self.started: dict[str, int | None] = {}
        self.advanced: dict[str, int] = {}
        self.finished: list[str] = []

    def start(self, key: str, description: str, total: int | None) -> None:
        self.started[key] = total

    def advance(self, key: str, amount: int) -> None:
        self.advanced[key] = self.advanced.get(key, 0) + amount

    def finish(self, key: str) -> None:
        self.finished.append(key)


def options(**overrides: Any) -> SourceOptions:
    base: dict[str, Any] = {"platform": AMD64, "timeout": 5.0, "retries": 2, "backoff": 0.01}
    base.update(overrides)
    return SourceOptions(**base)


def open_image(text: str, **overrides: Any) -> RegistryImage:
    return open_registry_image(parse_reference(text), options(**overrides))


def read_layers(image: RegistryImage) -> list[bytes]:
    blobs = []
    for layer in image.info.layers:
        stream = image.open_layer(layer)
        try:
            chunks = []
            while chunk := stream.read(7000):
                chunks.append(chunk)
        finally:
            stream.close()
        blobs.append(b"".join(chunks))
    return blobs


def decompress(blob: bytes) -> bytes:
    if blob[:2] == b"\x1f\x8b":
        return gzip.decompress(blob)
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read()
    return blob


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def assert_one_line(err: BaseException, *fragments: str) -> str:
    text = str(err)
    assert text and "\n" not in text and "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    return text


def assert_image_matches(image: RegistryImage, spec: kit.ImageSpec) -> None:
    info = image.info
    assert info.source == "registry"
    assert [layer.diff_id for layer in info.layers] == spec.diff_ids
    assert [layer.created_by for layer in info.layers] == [la.created_by for la in spec.layers]
    assert [layer.index for layer in info.layers] == list(range(len(spec.layers)))
    assert all(layer.size and layer.digest for layer in info.layers)
    blobs = read_layers(image)
    for layer, blob in zip(info.layers, blobs, strict=True):
        assert sha(blob) == layer.digest
        assert len(blob) == layer.size
        assert sha(decompress(blob)) == layer.diff_id


@pytest.fixture
def proxy(plain_registry: Registry) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(plain_registry.server.port)
    yield fault_proxy
    fault_proxy.stop()


def via(proxy: FaultProxy, pushed: Pushed) -> str:
    return f"registry:{proxy.host}/{pushed.repo}:{pushed.tag}"


# --------------------------------------------------------------------------- plain registry


def test_pull_by_tag_reads_manifest_config_and_layers(plain_registry: Registry) -> None:
    pushed = plain_registry.images["app"]
    progress = RecordingProgress()
    with open_image(pushed.by_tag, progress=progress) as image:
        info = image.info
        assert info.reference == pushed.by_tag
        assert info.manifest_digest == pushed.digest
        assert info.config_digest == sha(pushed.spec.config_bytes())
        cfg = info.config
        assert cfg.user == "1000"
        assert cfg.env == ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
        assert cfg.exposed_ports == ("8080/tcp",)
        assert cfg.labels == {"org.opencontainers.image.title": "sample"}
        assert cfg.cmd == ("python", "/app/main.py")
        assert cfg.working_dir == "/app"
        assert info.platform == AMD64
        assert [la.created_by for la in info.layers] == [
            "ADD rootfs.tar.gz / # buildkit",
            "COPY app /app # buildkit",
            "RUN sed -i s/hello/hello,world/ /app/main.py",
        ]
        assert info.layers[1].media_type == "application/vnd.oci.image.layer.v1.tar+zstd"
        assert_image_matches(image, pushed.spec)
        for layer in info.layers:
            assert layer.digest is not None
            assert progress.started[layer.digest] == layer.size
            assert progress.advanced[layer.digest] == layer.size
            assert progress.finished.count(layer.digest) == 1


def test_pull_by_digest_keeps_that_digest(plain_registry: Registry) -> None:
    pushed = plain_registry.images["app"]
    with open_image(pushed.by_digest) as image:
        assert image.info.manifest_digest == pushed.digest
        assert image.info.reference == pushed.by_digest
        assert [la.diff_id for la in image.info.layers] == pushed.spec.diff_ids


def test_docker_schema2_manifest(plain_registry: Registry) -> None:
    pushed = plain_registry.images["v2"]
    with open_image(pushed.by_tag) as image:
        info = image.info
        assert info.manifest_digest == pushed.digest
        assert {la.media_type for la in info.layers} == {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        }
        assert info.config.user == "www-data"
        assert info.config.env == ("MODE=docker", "PATH=/usr/bin:/bin")
        assert info.config.exposed_ports == ("443/tcp", "80/tcp")
        assert info.config.labels == {"format": "v2s2"}
        assert_image_matches(image, pushed.spec)


@pytest.mark.parametrize(("platform", "position"), [("linux/amd64", 0), ("linux/arm64", 1)])
def test_multi_arch_index_picks_platform(
    plain_registry: Registry, platform: str, position: int
) -> None:
    pushed = plain_registry.images["multi"]
    spec = pushed.specs[position]
    with open_image(pushed.by_tag, platform=Platform.parse(platform)) as image:
        assert image.info.config.architecture == spec.architecture
        assert image.info.config.env == (f"ARCH={spec.architecture}",)
        assert image.info.manifest_digest != pushed.digest  # the platform's, not the index's
        assert_image_matches(image, spec)
        (blob,) = read_layers(image)
        assert f"{spec.architecture}\n".encode() in decompress(blob)


def test_multi_arch_by_index_digest(plain_registry: Registry) -> None:
    pushed = plain_registry.images["multi"]
    with open_image(pushed.by_digest, platform=Platform.parse("linux/arm64/v8")) as image:
        assert image.info.config.architecture == "arm64"
        assert image.info.config.variant == "v8"


def test_multi_arch_missing_platform(plain_registry: Registry) -> None:
    pushed = plain_registry.images["multi"]
    with pytest.raises(NotFoundError) as caught:
        open_image(pushed.by_tag, platform=Platform.parse("linux/s390x"))
    assert_one_line(caught.value, "linux/s390x", "linux/amd64", "linux/arm64", "example/multi")


def test_missing_tag(plain_registry: Registry) -> None:
    with pytest.raises(NotFoundError) as caught:
        open_image(f"registry:{plain_registry.host}/example/app:no-such-tag")
    assert_one_line(caught.value, plain_registry.host, "example/app", "no-such-tag", "not found")


def test_missing_repository(plain_registry: Registry) -> None:
    with pytest.raises(NotFoundError) as caught:
        open_image(f"registry:{plain_registry.host}/example/nothing-here:1.0")
    assert_one_line(caught.value, "example/nothing-here")


def test_unknown_digest(plain_registry: Registry) -> None:
    missing = "sha256:" + "ab" * 32
    with pytest.raises(NotFoundError) as caught:
        open_image(f"registry:{plain_registry.host}/example/app@{missing}")
    assert_one_line(caught.value, missing)


def test_corrupted_blob_in_storage_fails_digest_check(plain_registry: Registry) -> None:
    pushed = plain_registry.images["corrupt"]
    with open_image(pushed.by_tag) as image:
        (layer,) = image.info.layers
        assert layer.digest is not None
        data_file = plain_registry.server.blob_data(layer.digest)
        original = data_file.read_bytes()
        damaged = bytearray(original)
        damaged[len(damaged) // 2] ^= 0xFF  # same size, one bit pattern changed
        data_file.write_bytes(bytes(damaged))
        try:
            stream = image.open_layer(layer)
            with pytest.raises(DigestMismatchError) as caught:
                while stream.read(4096):
                    pass
            stream.close()
        finally:
            data_file.write_bytes(original)
    assert_one_line(caught.value, layer.digest, "digest mismatch")


def test_metadata_size_limit(plain_registry: Registry) -> None:
    pushed = plain_registry.images["app"]
    with pytest.raises(LimitExceededError) as caught:
        open_image(pushed.by_tag, limits=ScanLimits(max_metadata_size=64))
    assert_one_line(caught.value, "max_metadata_size")


def test_self_signed_https_on_loopback(tls_registry: Registry) -> None:
    pushed = tls_registry.images["app"]
    with open_image(pushed.by_tag) as image:
        assert image.info.manifest_digest == pushed.digest
        assert_image_matches(image, pushed.spec)


# --------------------------------------------------------------------------- basic auth


def test_basic_anonymous_is_refused(basic_registry: Registry) -> None:
    pushed = basic_registry.images["app"]
    with pytest.raises(AuthError) as caught:
        open_image(pushed.by_tag)
    assert_one_line(caught.value, "authentication required", basic_registry.host, "example/app")


def test_basic_wrong_password_is_refused(basic_registry: Registry) -> None:
    pushed = basic_registry.images["app"]
    with pytest.raises(AuthError) as caught:
        open_image(pushed.by_tag, username=USER, password="wrong")
    text = assert_one_line(caught.value, "example/app", "rejected")
    assert "wrong" not in text


def test_basic_with_options(basic_registry: Registry) -> None:
    pushed = basic_registry.images["app"]
    with open_image(pushed.by_tag, username=USER, password=PASSWORD) as image:
        assert image.info.manifest_digest == pushed.digest
        assert_image_matches(image, pushed.spec)


def test_basic_with_environment(basic_registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTCULLIS_USERNAME", USER)
    monkeypatch.setenv("PORTCULLIS_PASSWORD", PASSWORD)
    pushed = basic_registry.images["app"]
    with open_image(pushed.by_digest) as image:
        assert image.info.manifest_digest == pushed.digest


def test_basic_with_docker_config_auths(basic_registry: Registry, tmp_path: Path) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {f"http://{basic_registry.host}/v2/": {"auth": auth}}}))
    pushed = basic_registry.images["app"]
    with open_image(pushed.by_tag, docker_config=config) as image:
        assert [la.diff_id for la in image.info.layers] == pushed.spec.diff_ids


def test_basic_with_docker_config_env(basic_registry: Registry, registry_env: Path) -> None:
    entry = {"username": USER, "password": PASSWORD}
    (registry_env / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: entry}})
    )
    with open_image(basic_registry.images["app"].by_tag) as image:
        assert image.info.config.user == "1000"


def _credential_helper(
    folder: Path, name: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A real ``docker-credential-NAME`` executable on PATH; logs what it was asked for."""
    log = folder / f"{name}.log"
    script = folder / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 2\n'
        "read -r server\n"
        f'echo "$server" >> "{log}"\n'
        f'if [ "$server" = "{host}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
        "else\n"
        '  echo "credentials not found in native keychain"; exit 1\n'
        "fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return log


def test_basic_with_cred_helper(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _credential_helper(tmp_path, "test", basic_registry.host, monkeypatch)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {basic_registry.host: "test"},
                                  "auths": {basic_registry.host: {"auth": "bm9ib2R5Om5vcGU="}}}))
    pushed = basic_registry.images["app"]
    with open_image(pushed.by_tag, docker_config=config) as image:
        assert image.info.manifest_digest == pushed.digest
    assert log.read_text().split() == [basic_registry.host]


def test_basic_with_creds_store(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _credential_helper(tmp_path, "store", basic_registry.host, monkeypatch)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credsStore": "store", "auths": {basic_registry.host: {}}}))
    with open_image(basic_registry.images["app"].by_tag, docker_config=config) as image:
        assert image.info.layers
    assert basic_registry.host in log.read_text()


def test_helper_without_credentials_means_anonymous(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _credential_helper(tmp_path, "test", "some-other-registry:5000", monkeypatch)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credsStore": "test"}))
    with pytest.raises(AuthError) as caught:
        open_image(basic_registry.images["app"].by_tag, docker_config=config)
    assert_one_line(caught.value, "authentication required")


# --------------------------------------------------------------------------- token auth


def _token_requests(registry: Registry) -> int:
    assert registry.issuer is not None
    return len(registry.issuer.requests)


def test_token_anonymous_private_repository_is_refused(token_registry: Registry) -> None:
    with pytest.raises(AuthError) as caught:
        open_image(token_registry.images["app"].by_tag)
    assert_one_line(caught.value, "authentication required", "example/app")


def test_token_anonymous_public_repository(token_registry: Registry) -> None:
    assert token_registry.issuer is not None
    before = _token_requests(token_registry)
    pushed = token_registry.images["public"]
    with open_image(pushed.by_tag) as image:
        assert_image_matches(image, pushed.spec)
    new = token_registry.issuer.requests[before:]
    assert [(r.method, r.user, r.scopes) for r in new] == [
        ("GET", None, ["repository:public/app:pull"])
    ]


def test_token_with_password_fetches_one_token(token_registry: Registry) -> None:
    assert token_registry.issuer is not None
    before = _token_requests(token_registry)
    pushed = token_registry.images["app"]
    with open_image(pushed.by_tag, username=USER, password=PASSWORD) as image:
        assert image.info.manifest_digest == pushed.digest
        assert_image_matches(image, pushed.spec)
    new = token_registry.issuer.requests[before:]
    assert [(r.method, r.user) for r in new] == [("GET", USER)]  # cached for every blob


def test_token_wrong_password(token_registry: Registry) -> None:
    with pytest.raises(AuthError) as caught:
        open_image(token_registry.images["app"].by_tag, username=USER, password="nope")
    assert_one_line(caught.value, "example/app", "rejected")


def test_token_with_identity_token(token_registry: Registry, tmp_path: Path) -> None:
    assert token_registry.issuer is not None
    config = tmp_path / "config.json"
    entry = {"auth": base64.b64encode(b"<token>:").decode(), "identitytoken": REFRESH_TOKEN}
    config.write_text(json.dumps({"auths": {token_registry.host: entry}}))
    before = _token_requests(token_registry)
    with open_image(token_registry.images["app"].by_tag, docker_config=config) as image:
        assert image.info.layers
    new = token_registry.issuer.requests[before:]
    assert [(r.method, r.grant, r.user) for r in new] == [("POST", "refresh_token", USER)]


def test_token_with_environment(
    token_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTCULLIS_USERNAME", USER)
    monkeypatch.setenv("PORTCULLIS_PASSWORD", PASSWORD)
    pushed = token_registry.images["app"]
    with open_image(pushed.by_digest) as image:
        assert image.info.manifest_digest == pushed.digest


# --------------------------------------------------------------------------- faults


def test_retries_server_errors_then_succeeds(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(fail_first=2, fail_status=500)
    pushed = plain_registry.images["app"]
    with open_image(via(proxy, pushed), retries=3) as image:
        assert_image_matches(image, pushed.spec)
    statuses = [status for path, _, status in proxy.seen if "/manifests/" in path]
    assert statuses[:3] == [500, 500, 200]


def test_honours_small_retry_after(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(fail_first=1, fail_status=429, retry_after="0")
    pushed = plain_registry.images["app"]
    with open_image(via(proxy, pushed), retries=1, backoff=30.0) as image:
        assert image.info.manifest_digest == pushed.digest


def test_persistent_server_errors_give_up(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(fail_first=10**6, fail_status=503)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        open_image(via(proxy, plain_registry.images["app"]), retries=2, backoff=0.01)
    assert time.monotonic() - started < 5
    assert proxy.count("manifests") == 3
    assert_one_line(caught.value, "HTTP 503", "after 3 attempts", "example/app")
    assert not isinstance(caught.value, AuthError | NotFoundError)


def test_unanswered_requests_time_out() -> None:
    with silent_server() as host:
        started = time.monotonic()
        with pytest.raises(SourceError) as caught:
            open_image(f"registry:{host}/example/app:1.0", timeout=0.5, retries=1)
        assert time.monotonic() - started < 10
    assert_one_line(caught.value, "timed out", host)


def test_connection_refused() -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(SourceError) as caught:
        open_image(f"registry:{host}/example/app:1.0", retries=1)
    assert_one_line(caught.value, "cannot connect", host)


def test_manifest_that_is_not_json(plain_registry: Registry, proxy: FaultProxy) -> None:
    proxy.faults = Faults(garbage_manifests=True)
    with pytest.raises(SourceError) as caught:
        open_image(via(proxy, plain_registry.images["app"]))
    assert_one_line(caught.value, "not valid JSON", "example/app")


def test_manifest_not_matching_its_digest_header(
    plain_registry: Registry, proxy: FaultProxy
) -> None:
    proxy.faults = Faults(tamper_manifests=True)
    with pytest.raises(DigestMismatchError) as caught:
        open_image(via(proxy, plain_registry.images["app"]))
    assert_one_line(caught.value, "Docker-Content-Digest", "example/app")


@pytest.mark.parametrize("ignore_range", [False, True])
def test_dropped_blob_download_resumes(
    plain_registry: Registry, proxy: FaultProxy, ignore_range: bool
) -> None:
    pushed = plain_registry.images["corrupt"]
    with open_image(via(proxy, pushed)) as image:
        proxy.faults = Faults(truncate_blobs=1, ignore_range=ignore_range)
        (blob,) = read_layers(image)
        (layer,) = image.info.layers
        assert sha(blob) == layer.digest
    blob_requests = [(rng, status) for path, rng, status in proxy.seen if "/blobs/" in path]
    assert len(blob_requests) >= 3  # config, the cut download, the resumed one
    resumed = blob_requests[-1]
    if ignore_range:
        assert resumed[1] == 200
    else:
        assert resumed[0].startswith("bytes=") and resumed[1] == 206


def test_dropped_blob_download_without_retries(
    plain_registry: Registry, proxy: FaultProxy
) -> None:
    with open_image(via(proxy, plain_registry.images["corrupt"]), retries=0) as image:
        proxy.faults = Faults(truncate_blobs=1)
        with pytest.raises(SourceError) as caught:
            read_layers(image)
    assert not isinstance(caught.value, DigestMismatchError)
    assert_one_line(caught.value, "layer 0", "example/corrupt")


def test_errors_are_portcullis_errors(plain_registry: Registry, proxy: FaultProxy) -> None:
    """A blob fetched after the image was closed still fails with our error type."""
    image = open_image(via(proxy, plain_registry.images["app"]))
    image.close()
    with pytest.raises(PortcullisError) as caught:
        read_layers(image)
    assert_one_line(caught.value)


# --------------------------------------------------------------------------- credentials lookup


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io",
                                 "registry-1.docker.io"])
@pytest.mark.parametrize("registry", ["docker.io", "index.docker.io"])
def test_docker_hub_aliases(key: str, registry: str) -> None:
    creds = lookup_in_config({"auths": {key: {"auth": _b64("hubuser:hubpass")}}}, registry)
    assert creds is not None
    assert (creds.username, creds.password) == ("hubuser", "hubpass")
    assert "hubpass" not in repr(creds)


def test_config_entries_for_other_registries_do_not_match() -> None:
    doc = {"auths": {"ghcr.io": {"auth": _b64("a:b")}, "127.0.0.1:5001": {"auth": _b64("c:d")}}}
    assert lookup_in_config(doc, "127.0.0.1:5000") is None
    assert server_url("docker.io") == "https://index.docker.io/v1/"
    assert server_url("ghcr.io") == "ghcr.io"


def test_identity_token_entry() -> None:
    doc = {"auths": {"r.example": {"auth": _b64("<token>:"), "identitytoken": "refresh"}}}
    creds = lookup_in_config(doc, "r.example")
    assert creds is not None and creds.identity_token == "refresh"


def test_broken_auth_entry_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        lookup_in_config({"auths": {"r.example": {"auth": _b64("no-colon")}}}, "r.example")
    assert_one_line(caught.value, "r.example")


def test_credentials_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"r.example": {"username": "cfg", "password": "c"}}}))
    env = {"PORTCULLIS_USERNAME": "env", "PORTCULLIS_PASSWORD": "e"}

    def who(**kw: Any) -> str | None:
        creds = find_credentials("r.example", docker_config=config, **kw)
        return creds.username if creds else None

    assert who(username="opt", password="o", env=env) == "opt"
    assert who(env=env) == "env"
    assert who(env={}) == "cfg"
    assert find_credentials("other.example", docker_config=config, env={}) is None


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.example/token",service="reg",'
            'scope="repository:a/b:pull,push"',
            [("bearer", {"realm": "https://auth.example/token", "service": "reg",
                         "scope": "repository:a/b:pull,push"})],
        ),
        ('Basic realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
        (
            'Basic realm = "x" , Bearer realm=http://h/t, error="insufficient_scope"',
            [("basic", {"realm": "x"}),
             ("bearer", {"realm": "http://h/t", "error": "insufficient_scope"})],
        ),
        ('bearer Realm="a\\"b"', [("bearer", {"realm": 'a"b'})]),
    ],
)
def test_parse_challenges(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert [(c.scheme, c.params) for c in parse_challenges([header])] == expected
