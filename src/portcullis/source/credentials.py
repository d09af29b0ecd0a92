"""Registry credentials: explicit options, environment, docker's ``config.json`` and helpers.

Lookup order (the first hit wins):

1. ``SourceOptions.username`` / ``password`` (``--username`` / ``--password-stdin``);
2. ``PORTCULLIS_USERNAME`` / ``PORTCULLIS_PASSWORD``;
3. docker's ``config.json`` (``options.docker_config``, else ``$DOCKER_CONFIG/config.json``,
   else ``~/.docker/config.json``): ``credHelpers[registry]``, then ``credsStore``, then
   ``auths`` (base64 ``auth``, ``username``/``password``, ``identitytoken``).

Secrets never reach a log line or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from portcullis.errors import ConfigError

log = logging.getLogger(__name__)

ENV_USERNAME = "PORTCULLIS_USERNAME"
ENV_PASSWORD = "PORTCULLIS_PASSWORD"
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_HELPER_TIMEOUT = 30.0
_TOKEN_USERNAME = "<token>"


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """A username/password pair or an identity (OAuth2 refresh) token."""

    username: str = ""
    password: str = ""
    identity_token: str | None = None
    origin: str = ""
    """Where they came from (for log lines), e.g. ``options`` or ``config.json auths``."""

    def __repr__(self) -> str:
        # Never the secrets: a repr ends up in log lines and tracebacks.
        return f"Credentials(username={self.username!r}, origin={self.origin!r})"


def find_credentials(
    registry: str,
    *,
    username: str | None = None,
    password: str | None = None,
    docker_config: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials | None:
    """Credentials for ``registry`` (a host[:port] as in the reference), or None."""
    environ = os.environ if env is None else env
    explicit = _explicit(username, password, environ)
    if explicit is not None:
        return explicit
    path = docker_config_path(docker_config, environ)
    doc = _read_config(path)
    if doc is None:
        return None
    creds = lookup_in_config(doc, registry)
    if creds is not None:
        log.debug("credentials for %s from %s (%s)", registry, path, creds.origin)
    return creds


def _explicit(
    username: str | None, password: str | None, environ: Mapping[str, str]
) -> Credentials | None:
    if username and password is not None:
        return Credentials(username=username, password=password, origin="options")
    user = username or environ.get(ENV_USERNAME)
    secret = password if password is not None else environ.get(ENV_PASSWORD)
    if user and secret is not None:
        origin = "options" if username else f"${ENV_USERNAME}"
        return Credentials(username=user, password=secret, origin=origin)
    return None


def docker_config_path(explicit: Path | None, environ: Mapping[str, str]) -> Path:
    if explicit is not None:
        return explicit / "config.json" if explicit.is_dir() else explicit
    folder = environ.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    return Path.home() / ".docker" / "config.json"


def _read_config(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read docker config ({e.strerror or e})") from e
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"{path}: docker config is not valid JSON") from e
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: docker config is not a JSON object")
    return doc


def normalise_server(server: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``http://host:5000/v2/`` → ``host:5000``."""
    text = server.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0]
    return "docker.io" if host in _DOCKER_HUB_ALIASES else host


def server_url(registry: str) -> str:
    """What docker hands to credential helpers for ``registry``."""
    return DOCKER_HUB_SERVER if normalise_server(registry) == "docker.io" else registry


def lookup_in_config(doc: Mapping[str, Any], registry: str) -> Credentials | None:
    """Apply docker's rules to a decoded ``config.json``."""
    wanted = normalise_server(registry)
    helper = _entry_for(doc.get("credHelpers"), wanted)
    if isinstance(helper, str) and helper:
        return run_helper(helper, server_url(registry))
    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        creds = run_helper(store, server_url(registry))
        if creds is not None:
            return creds
    entry = _entry_for(doc.get("auths"), wanted)
    return _from_auth_entry(entry, registry) if isinstance(entry, dict) else None


def _entry_for(table: Any, wanted: str) -> Any:
    if not isinstance(table, dict):
        return None
    for key, value in table.items():
        if isinstance(key, str) and normalise_server(key) == wanted:
            return value
    return None


def _from_auth_entry(entry: Mapping[str, Any], registry: str) -> Credentials | None:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        username, password = _decode_auth(encoded, registry)
    token = entry.get("identitytoken")
    if isinstance(token, str) and token:
        return Credentials(username=username, identity_token=token, origin="config.json auths")
    if username:
        return Credentials(username=username, password=password, origin="config.json auths")
    return None


def _decode_auth(encoded: str, registry: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise ConfigError(f"docker config: invalid base64 'auth' for {registry}") from e
    username, sep, password = text.partition(":")
    if not sep:
        raise ConfigError(f"docker config: 'auth' for {registry} is not username:password")
    return username, password


def run_helper(name: str, server: str) -> Credentials | None:
    """``docker-credential-<name> get`` with ``server`` on stdin; None when it has nothing.

    A missing or failing helper is logged and treated as "no credentials": the registry then
    says clearly whether it needs some.
    """
    program = f"docker-credential-{name}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        log.warning("credential helper %s not found on PATH; continuing without it", program)
        return None
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning(
            "credential helper %s failed (%s); continuing without it", program, type(e).__name__
        )
        return None
    if done.returncode != 0:
        message = done.stdout.decode(errors="replace").strip().splitlines()
        log.debug("%s has no credentials for %s: %s", program, server, message[:1])
        return None
    return _parse_helper_output(done.stdout, program)


def _parse_helper_output(output: bytes, program: str) -> Credentials | None:
    try:
        doc = json.loads(output)
    except ValueError:
        log.warning("credential helper %s returned invalid JSON; ignoring it", program)
        return None
    if not isinstance(doc, dict):
        return None
    username = str(doc.get("Username") or "")
    secret = str(doc.get("Secret") or "")
    if not secret:
        return None
    origin = f"credential helper {program}"
    if username == _TOKEN_USERNAME:
        return Credentials(identity_token=secret, origin=origin)
    return Credentials(username=username, password=secret, origin=origin)
