"""Real registries for tests: docker-registry processes, a JWT token issuer, a fault proxy.

Everything binds to 127.0.0.1 only. Processes are stopped by their PID.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = Path("/usr/bin/docker-registry")
SKOPEO = shutil.which("skopeo")
HTPASSWD = shutil.which("htpasswd")
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- docker-registry


@dataclass
class RegistryServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def storage(self) -> Path:
        return self.root / "data"

    def blob_data(self, digest: str) -> Path:
        alg, hx = digest.split(":", 1)
        return self.storage / "docker/registry/v2/blobs" / alg / hx[:2] / hx / "data"

    def log_text(self) -> str:
        path = self.root / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_registry(
    root: Path, auth: dict[str, Any] | None = None, tls: tuple[Path, Path] | None = None
) -> RegistryServer:
    """Start ``docker-registry serve`` on a free port; retry if another process took the port."""
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
        port = free_port()
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(root / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": f"{LOOPBACK}:{port}", "secret": "portcullis-test-secret"},
        }
        if auth:
            config["auth"] = auth
        if tls:
            config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
        config_path = root / "config.yml"
        config_path.write_text(json.dumps(config, indent=2))  # JSON is valid YAML
        with (root / "registry.log").open("ab") as log:
            process = subprocess.Popen(
                [str(REGISTRY_BIN), "serve", str(config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        server = RegistryServer(root=root, port=port, process=process)
        if _wait_http(port, process):
            return server
        server.stop()
    raise RuntimeError(f"docker-registry did not start; log:\n{server.log_text()[-2000:]}")


def _wait_http(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                pass
            return process.poll() is None  # listening (TLS or not): serves /v2/ from now on
        except OSError:
            time.sleep(0.05)
    return False


def htpasswd_line(user: str, password: str) -> str:
    assert HTPASSWD is not None
    out = subprocess.run(
        [HTPASSWD, "-Bbn", user, password], check=True, capture_output=True, text=True
    ).stdout
    return out.strip() + "\n"


# --------------------------------------------------------------------------- pushing


def push(
    layout: Path,
    ref: str,
    dest: str,
    *,
    creds: tuple[str, str] | None = None,
    fmt: str | None = None,
    multi_arch: bool = False,
) -> str:
    """``skopeo copy oci:LAYOUT:REF docker://DEST``; returns the pushed manifest digest."""
    assert SKOPEO is not None
    digest_file = layout.parent / f"{layout.name}.{secrets.token_hex(4)}.digest"
    cmd = [SKOPEO, "copy", "--insecure-policy", "--dest-tls-verify=false", "--retry-times=2",
           "--digestfile", str(digest_file)]
    if creds:
        cmd += ["--dest-creds", f"{creds[0]}:{creds[1]}"]
    if fmt:
        cmd += ["--format", fmt]
    if multi_arch:
        cmd += ["--multi-arch", "all"]
    cmd += [f"oci:{layout}:{ref}", f"docker://{dest}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"skopeo failed: {' '.join(cmd)}\n{done.stderr}")
    return digest_file.read_text().strip()


# --------------------------------------------------------------------------- token issuer


def make_certificate(
    common_name: str = "portcullis-test-issuer",
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def write_tls_files(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key (PEM) for a TLS registry on loopback."""
    key, cert = make_certificate("127.0.0.1")
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


@dataclass
class TokenRequest:
    method: str
    user: str | None
    scopes: list[str]
    grant: str = ""


class TokenIssuer:
    """Docker token auth: ``GET /token?service=&scope=`` (basic auth optional) and ``POST``
    with ``grant_type=refresh_token|password``. Anonymous users may pull ``public/*`` only."""

    def __init__(
        self,
        *,
        users: dict[str, str],
        refresh_tokens: dict[str, str],
        service: str = "test-registry",
        issuer: str = "test-issuer",
        public_prefix: str = "public/",
    ) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.service = service
        self.issuer = issuer
        self.public_prefix = public_prefix
        self.key, self.cert = make_certificate()
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _make_token_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def realm(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/token"

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def start(self) -> TokenIssuer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def grant(self, scope: str, user: str | None) -> dict[str, Any] | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return None
        wanted = {a for a in actions.split(",") if a}
        if user is None:
            allowed = {"pull"} if name.startswith(self.public_prefix) else set()
        else:
            allowed = wanted
        return {"type": kind, "name": name, "actions": sorted(wanted & allowed)}

    def token(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        access = [g for s in scopes for g in [self.grant(s, user)] if g is not None]
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        der = self.cert.public_bytes(serialization.Encoding.DER)
        headers = {"x5c": [base64.b64encode(der).decode("ascii")]}
        return jwt.encode(claims, self.key, algorithm="RS256", headers=headers)


def _make_token_handler(issuer: TokenIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            user: str | None = None
            header = self.headers.get("Authorization")
            if header:
                user = self._check_basic(header)
                if user is None:
                    issuer.record(TokenRequest("GET", "<rejected>", scopes))
                    self._send(401, {"errors": [{"code": "UNAUTHORIZED",
                                                 "message": "invalid username or password"}]})
                    return
            issuer.record(TokenRequest("GET", user, scopes))
            token = issuer.token(user, scopes)
            self._send(200, {"token": token, "access_token": token, "expires_in": 300})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            grant = (form.get("grant_type") or [""])[0]
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            user: str | None = None
            if grant == "refresh_token":
                user = issuer.refresh_tokens.get((form.get("refresh_token") or [""])[0])
            elif grant == "password":
                name = (form.get("username") or [""])[0]
                if issuer.users.get(name) == (form.get("password") or [""])[0]:
                    user = name
            issuer.record(TokenRequest("POST", user, scopes, grant))
            if user is None:
                self._send(401, {"error": "invalid_grant"})
                return
            # An OAuth2 answer carries only access_token: clients must accept it.
            self._send(200, {"access_token": issuer.token(user, scopes), "expires_in": 300})

        def _check_basic(self, header: str) -> str | None:
            kind, _, value = header.partition(" ")
            if kind.lower() != "basic":
                return None
            try:
                name, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            return name if issuer.users.get(name) == password else None

        def _send(self, status: int, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


# --------------------------------------------------------------------------- fault proxy

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te",
               "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"}


@dataclass
class Faults:
    """What the proxy does wrong. Counters count GET requests per kind (manifest, blob)."""

    fail_first: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    garbage_manifests: bool = False
    tamper_manifests: bool = False
    truncate_blobs: int = 0
    ignore_range: bool = False


class FaultProxy:
    """A threaded HTTP proxy in front of a real registry that injects faults."""

    def __init__(self, upstream_port: int, faults: Faults | None = None) -> None:
        self.upstream_port = upstream_port
        self.faults = faults or Faults()
        self.seen: list[tuple[str, str, int]] = []  # (path, range header, status sent)
        self._lock = threading.Lock()
        self._failed = 0
        self._truncated = 0
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _make_proxy_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take_failure(self) -> bool:
        with self._lock:
            if self._failed < self.faults.fail_first:
                self._failed += 1
                return True
            return False

    def take_truncation(self) -> bool:
        with self._lock:
            if self._truncated < self.faults.truncate_blobs:
                self._truncated += 1
                return True
            return False

    def note(self, path: str, range_header: str, status: int) -> None:
        with self._lock:
            self.seen.append((path, range_header, status))

    def count(self, kind: str) -> int:
        return sum(1 for path, _, _ in self.seen if f"/{kind}/" in path)


def _make_proxy_handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            faults = proxy.faults
            range_header = self.headers.get("Range") or ""
            if proxy.take_failure():
                proxy.note(self.path, range_header, faults.fail_status)
                extra = {"Retry-After": faults.retry_after} if faults.retry_after else {}
                self._reply(faults.fail_status, b'{"errors":[]}', extra)
                return
            status, headers, body = self._forward()
            proxy.note(self.path, range_header, status)
            if "/manifests/" in self.path and status == 200:
                if faults.garbage_manifests:
                    headers.pop("docker-content-digest", None)
                    body = b"<html>this is not a manifest</html>"
                elif faults.tamper_manifests:
                    body = body + b"\n"  # same JSON, different bytes: digest must not match
            if "/blobs/" in self.path and status in (200, 206) and proxy.take_truncation():
                self._reply_truncated(status, headers, body)
                return
            self._reply(status, body, headers)

        def _forward(self) -> tuple[int, dict[str, str], bytes]:
            conn = http.client.HTTPConnection(LOOPBACK, proxy.upstream_port, timeout=10)
            skip = {"host", *_HOP_BY_HOP}
            if proxy.faults.ignore_range:
                skip.add("range")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
            conn.request("GET", self.path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            out = {k.lower(): v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            conn.close()
            return resp.status, out, body

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reply_truncated(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections (kernel backlog) but never answers."""
    sock = socket.socket()
    sock.bind((LOOPBACK, 0))
    sock.listen(32)
    try:
        yield f"{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        sock.close()
