"""``docker-daemon:NAME[:TAG]`` images from a local Docker (or Podman) Engine API.

The daemon exports the image as a ``docker save`` tarball (``GET /images/{name}/get``); we stream
it chunk by chunk into a private temp folder, enforcing the image-size limit, and open the spooled
file with the docker-archive reader. The temp folder goes away when the image is closed.

The endpoint is, in order: ``PORTCULLIS_DOCKER_HOST``, ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY``
/ ``DOCKER_CERT_PATH``), the current docker CLI context (``DOCKER_CONTEXT`` or ``currentContext``
in the docker config), then the default socket. The API version is pinned (``DOCKER_API_VERSION``,
else 1.41, which Docker >= 20.10 and Podman >= 3 speak) so no ``/version`` round trip is made.

Name resolution is the daemon's: Docker maps ``alpine`` to ``docker.io/library/alpine:latest``,
Podman also finds ``example/app`` stored as ``localhost/example/app``. The export of one name
holds one image, which is what we open. No docker-py, requests or urllib3 exception leaves this
module: every failure is a ``portcullis.errors`` exception with a one-line message.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import urllib3.exceptions
from docker.utils import kwargs_from_env

from portcullis.errors import (
    ConfigError,
    LimitExceededError,
    NotFoundError,
    PortcullisError,
    SourceError,
    one_line,
)
from portcullis.source.base import SourceOptions
from portcullis.source.docker_archive import DockerArchiveImage, open_docker_archive_path
from portcullis.source.reference import ImageReference

log = logging.getLogger(__name__)

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_API_VERSION = "1.41"
CHUNK = 1 << 20
# Podman builds the whole export before it sends the first byte, and Docker may pause between
# large layers: reads get a generous floor so big images do not time out, while a dead daemon
# still cannot hang a pipeline forever. Connecting uses the plain ``options.timeout``.
READ_TIMEOUT_FLOOR = 600.0
_NETWORK_ERRORS = (
    docker.errors.DockerException,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
)


def open_daemon_image(ref: ImageReference, options: SourceOptions) -> DockerArchiveImage:
    name = (ref.name or "").strip()
    if not name:
        raise ConfigError(f"{ref.text}: docker-daemon: needs an image name or ID")
    host, client = _connect(options)
    try:
        try:
            tmp = options.make_temp_dir()
        except OSError as e:
            raise SourceError(f"{ref.text}: cannot create a temp folder for the export: "
                              f"{e.strerror} ({e.filename})") from e
        try:
            path = Path(tmp.name) / "image.tar"
            _export(client, host, name, path, options)
            image = _open_archive(path, ref.text, name, options)
        except BaseException:
            tmp.cleanup()
            raise
    finally:
        client.close()
    # Runs before the archive's own close (cleanups are LIFO); fine on POSIX, where an open
    # file may be unlinked.
    image.on_close(tmp.cleanup)
    return image


def _open_archive(
    path: Path, reference: str, name: str, options: SourceOptions
) -> DockerArchiveImage:
    try:
        return open_docker_archive_path(path, reference, options, source="docker-daemon")
    except ConfigError:
        # Only a manifest.json listing several images makes the reader ask for a tag: a daemon
        # that exported more than the one image asked for. Pick ours by name.
        return open_docker_archive_path(
            path, reference, options, ref_name=_tag_name(name), source="docker-daemon"
        )


def _tag_name(name: str) -> str:
    """How ``RepoTags`` spell ``name``: a tag made explicit, Docker Hub's prefixes dropped."""
    if "@" in name:
        return name
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _endpoint() -> tuple[str, dict[str, Any]]:
    """(host as the user would write it, extra APIClient kwargs such as ``tls``)."""
    kwargs: dict[str, Any] = {}
    try:
        kwargs = dict(kwargs_from_env())
    except _NETWORK_ERRORS as e:  # TLSParameterError for a bad DOCKER_CERT_PATH
        raise ConfigError(f"invalid Docker TLS settings (DOCKER_CERT_PATH): {e}") from e
    override = os.environ.get("PORTCULLIS_DOCKER_HOST")
    if override:
        kwargs["base_url"] = override
    if kwargs.get("base_url"):
        return str(kwargs["base_url"]), kwargs
    context = _context_endpoint()
    if context is not None:
        return context
    return DEFAULT_HOST, {"base_url": DEFAULT_HOST}


def _context_endpoint() -> tuple[str, dict[str, Any]] | None:
    """The host of a non-default docker CLI context (rootless Docker, Docker Desktop, Colima)."""
    try:
        from docker.context import ContextAPI

        ctx = ContextAPI.get_context(os.environ.get("DOCKER_CONTEXT") or None)
        if ctx is None or ctx.name == "default" or not ctx.Host:
            return None
        kwargs: dict[str, Any] = {"base_url": ctx.Host}
        if ctx.TLSConfig:
            kwargs["tls"] = ctx.TLSConfig
        return str(ctx.Host), kwargs
    except Exception as e:  # a broken context store must not break the default socket
        log.debug("ignoring the docker CLI context: %s", e)
        return None


def _connect(options: SourceOptions) -> tuple[str, Any]:
    host, kwargs = _endpoint()
    version = os.environ.get("DOCKER_API_VERSION") or DEFAULT_API_VERSION
    try:
        client = docker.APIClient(version=version, timeout=options.timeout, **kwargs)
    except _NETWORK_ERRORS as e:
        raise ConfigError(f"cannot use the Docker daemon at {host}: {_reason(e)}") from e
    except ValueError as e:  # malformed port and the like in DOCKER_HOST
        raise ConfigError(f"invalid Docker host {host!r}: {e}") from e
    return host, client


def _export(client: Any, host: str, name: str, dst: Path, options: SourceOptions) -> None:
    what = f"docker-daemon:{name}"
    timeout = (options.timeout, max(options.timeout, READ_TIMEOUT_FLOOR))
    receiving = False
    try:
        response = client.get(client._url("/images/{0}/get", name), stream=True, timeout=timeout)
        try:
            _check_status(response, host, name)
            receiving = True
            _spool(response, dst, what, options)
        finally:
            response.close()
    except PortcullisError:
        raise
    except requests.ConnectTimeout as e:
        raise SourceError(f"cannot reach the Docker daemon at {host}: no answer within "
                          f"{timeout[0]:g}s") from e
    except requests.Timeout as e:
        raise SourceError(f"{what}: the Docker daemon at {host} stopped answering "
                          f"(no data for {timeout[1]:g}s)") from e
    except (*_NETWORK_ERRORS, OSError) as e:
        if receiving:
            raise SourceError(f"{what}: the export from the Docker daemon at {host} broke off: "
                              f"{_reason(e)}") from e
        if isinstance(e, requests.ConnectionError):
            raise SourceError(f"cannot reach the Docker daemon at {host}: {_reason(e)}") from e
        raise SourceError(f"{what}: export from the Docker daemon at {host} failed: "
                          f"{_reason(e)}") from e


def _spool(response: Any, dst: Path, what: str, options: SourceOptions) -> None:
    """Copy the export into ``dst`` chunk by chunk, within ``max_image_size``."""
    limit = options.limits.max_image_size
    progress = options.progress
    progress.start("export", f"exporting {what}", _length(response))
    try:
        try:
            out = dst.open("wb")
        except OSError as e:
            raise SourceError(f"{what}: cannot write the export to {dst.parent}: "
                              f"{e.strerror}") from e
        with out:
            copied = 0
            for chunk in response.iter_content(CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise LimitExceededError("max_image_size", limit, what)
                try:
                    out.write(chunk)
                except OSError as e:
                    raise SourceError(f"{what}: cannot write the export to {dst.parent}: "
                                      f"{e.strerror}") from e
                progress.advance("export", len(chunk))
    finally:
        progress.finish("export")


def _length(response: Any) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _check_status(response: Any, host: str, name: str) -> None:
    status = int(response.status_code)
    if status < 400:
        return
    message = _error_message(response)
    if status == 404 and not message and "Api-Version" not in response.headers:
        # Docker and Podman put Api-Version on every answer and explain a 404 in JSON: this
        # is some other HTTP server (a proxy, a wrong port), not "no such image".
        raise SourceError(f"cannot reach the Docker daemon at {host}: the server there is not "
                          f"a Docker Engine API (HTTP 404 without Api-Version)")
    if status == 404:
        detail = f" ({message})" if message else ""
        raise NotFoundError(f"docker-daemon:{name}: no such image in the Docker daemon at "
                            f"{host}{detail}")
    raise SourceError(f"docker-daemon:{name}: the Docker daemon at {host} answered "
                      f"{status}: {message or response.reason}")


def _error_message(response: Any) -> str:
    """The daemon's ``{"message": ...}`` body (or the start of a plain-text one), one line."""
    try:
        raw = response.raw.read(64 * 1024, decode_content=True)
    except Exception:
        return ""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        text = doc["message"]
    return one_line(text)


def _reason(exc: BaseException) -> str:
    """The most specific cause: an OS error's text if there is one, else the first plain message
    in the chain (requests and urllib3 wrap the real cause in tuples of arguments)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    message = ""
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, OSError) and item.strerror:
            return one_line(item.strerror)
        if not message and item.args and isinstance(item.args[0], str):
            message = item.args[0]
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return one_line(message or str(exc)) or type(exc).__name__
