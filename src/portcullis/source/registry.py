"""``registry:`` images over the Docker Registry HTTP API v2 / OCI distribution spec.

One :class:`RegistryClient` per opened image talks to one repository: it picks the scheme
(https; plain http only for ``--insecure`` and loopback registries, as docker does), answers
``WWW-Authenticate`` challenges (Basic, or Bearer tokens from the realm, cached per scope),
retries transient failures with exponential backoff, and maps every HTTP outcome onto the
``portcullis.errors`` tree. No httpx exception leaves this module.

Pushing (``db push``: a file as an OCI artifact) uploads blobs monolithically (POST, then
PUT with the digest) and puts a manifest under a tag, with the same auth and retries.

Manifests and configs are read with a size limit and verified against the digest that names
them; layer blobs are streamed (one chunk in memory at a time, resumed with ``Range`` after a
dropped connection) through a :class:`VerifyingReader` that checks the digest at EOF.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import http
import io
import ipaddress
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import msgspec

from portcullis.errors import (
    AuthError,
    ConfigError,
    DigestMismatchError,
    LimitExceededError,
    NotFoundError,
    SourceError,
    one_line,
)
from portcullis.model.blob import Reader
from portcullis.model.digest import Digest, is_digest
from portcullis.model.image import ImageInfo, LayerRef
from portcullis.model.reference import RegistryRef
from portcullis.progress import Progress
from portcullis.source.base import ImageBase, SourceOptions
from portcullis.source.credentials import Credentials, find_credentials
from portcullis.source.manifest import (
    ALL_TYPES,
    Descriptor,
    Manifest,
    image_info,
    load_json,
    parse_document,
    select_platform,
)
from portcullis.source.reference import ImageReference
from portcullis.source.verify import VerifyingReader

log = logging.getLogger(__name__)

_T = TypeVar("_T")

ACCEPT_MANIFESTS = ", ".join(ALL_TYPES)
USER_AGENT = "portcullis"
_CHUNK = 1 << 16
_MAX_NESTING = 4
_MAX_DELAY = 30.0
_MAX_RETRY_AFTER = 30.0
_ERROR_BODY_LIMIT = 8192
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


# --------------------------------------------------------------------------- challenges


class Challenge(msgspec.Struct, frozen=True):
    """One ``WWW-Authenticate`` challenge: ``scheme`` in lower case, parameter names too."""

    scheme: str
    params: dict[str, str] = msgspec.field(default_factory=dict)


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_challenges(headers: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` values (RFC 7235): several headers, several challenges each.

    Tolerates unquoted values, spaces around ``=``, commas inside quoted values (scopes like
    ``repository:a:pull,push``) and escaped quotes.
    """
    found: list[Challenge] = []
    for header in headers:
        found.extend(_parse_header(header))
    return found


def _parse_header(text: str) -> list[Challenge]:
    found: list[Challenge] = []
    pos = 0
    while pos < len(text):
        pos = _skip(text, pos, " \t,")
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        name, pos = match.group(0), _skip(text, match.end(), " \t")
        if pos < len(text) and text[pos] == "=" and found:
            value, pos = _parse_value(text, _skip(text, pos + 1, " \t"))
            found[-1].params[name.lower()] = value
        elif pos < len(text) and text[pos] == "=":
            pos += 1  # a parameter before any scheme: ignore it
        else:
            found.append(Challenge(name.lower()))
    return found


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _parse_value(text: str, pos: int) -> tuple[str, int]:
    if pos < len(text) and text[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            out.append(text[pos])
            pos += 1
        return "".join(out), pos + 1
    end = pos
    while end < len(text) and text[end] not in ", \t":
        end += 1
    return text[pos:end], end


# --------------------------------------------------------------------------- the client


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


class _Unauthorized(msgspec.Struct, frozen=True):
    challenges: list[Challenge]


class _Call(msgspec.Struct, frozen=True, kw_only=True):
    what: str
    path: str
    method: str = "GET"
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    params: dict[str, str] | None = None
    data: dict[str, str] | None = None
    auth: tuple[str, str] | None = None
    upload: bytes | Path | None = None
    """A request body: bytes, or a file read afresh by each attempt (a retry resends it)."""
    authorize: bool = True
    """Send our Authorization header and answer challenges (False for token requests)."""


class RegistryClient:
    """HTTP access to one repository of one registry."""

    def __init__(
        self,
        ref: RegistryRef,
        options: SourceOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ref = ref
        self.where = f"{ref.registry}/{ref.repository}"
        self._options = options
        self._sleep = sleep
        self._host = ref.api_host
        self._relaxed = options.insecure or is_loopback(self._host)
        self._base: str | None = None if self._relaxed else f"https://{self._host}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(options.timeout),
            verify=not self._relaxed,
            follow_redirects=True,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )
        self._lock = threading.RLock()
        self._authorization: str | None = None
        self._tokens: dict[str, str] = {}
        self._creds: Credentials | None = None
        self._creds_loaded = False
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._http.close()

    # ----------------------------------------------------------------- public operations

    def fetch_manifest(
        self, reference: str, expected: Digest | None
    ) -> tuple[bytes, str | None, Digest]:
        """Bytes, media type and verified digest of the manifest ``reference`` (tag or digest)."""
        call = _Call(
            what=f"manifest {reference}",
            path=f"/v2/{self.ref.repository}/manifests/{reference}",
            headers={"Accept": ACCEPT_MANIFESTS},
        )
        data, headers = self.request(call, self._small_reader(call))
        digest = self._verify_manifest(data, reference, expected, headers)
        media_type = headers.get("content-type", "").split(";", 1)[0].strip() or None
        return data, media_type, digest

    def fetch_blob(self, digest: Digest, what: str) -> bytes:
        """A small blob (config), size-limited and digest-checked."""
        call = _Call(what=f"{what} {digest}", path=self._blob_path(digest))
        data, _ = self.request(call, self._small_reader(call))
        got = Digest.of_bytes(data, digest.algorithm)
        if got != digest:
            raise DigestMismatchError(f"{self.where}: {what} {digest}: content hashes to {got}")
        return data

    def open_blob(self, digest: Digest, what: str, offset: int = 0) -> httpx.Response:
        """An open streaming response for a blob, from ``offset`` on; the caller closes it."""
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        call = _Call(what=what, path=self._blob_path(digest), headers=headers)
        return self.request(call, _identity, keep_open=True)

    def blob_exists(self, digest: Digest, what: str) -> bool:
        call = _Call(what=f"{what} {digest}", method="HEAD", path=self._blob_path(digest))
        try:
            return self.request(call, lambda response: True)
        except NotFoundError:
            return False

    def upload_blob(self, digest: Digest, body: bytes | Path, what: str) -> None:
        """Upload one blob unless the repository already has it (monolithic: POST, PUT)."""
        if self.blob_exists(digest, what):
            return
        start = _Call(what=f"{what} upload", method="POST",
                      path=f"/v2/{self.ref.repository}/blobs/uploads/")
        location = self.request(start, lambda response: response.headers.get("location"))
        if not location:
            raise SourceError(f"{self.where}: {what} upload: the registry gave no Location")
        url = httpx.URL(self._url("")).join(location)
        url = url.copy_merge_params({"digest": str(digest)})
        put = _Call(what=f"{what} {digest}", method="PUT", path=str(url), upload=body,
                    headers={"Content-Type": "application/octet-stream"})
        self.request(put, lambda response: None)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> Digest:
        """Put a manifest under ``reference`` (a tag); its digest, as we computed it."""
        call = _Call(what=f"manifest {reference}", method="PUT",
                     path=f"/v2/{self.ref.repository}/manifests/{reference}", upload=data,
                     headers={"Content-Type": media_type})
        self.request(call, lambda response: None)
        return Digest.of_bytes(data)

    def request(
        self, call: _Call, consume: Callable[[httpx.Response], _T], *, keep_open: bool = False
    ) -> _T:
        """Send ``call`` with auth and retries; hand a 2xx response to ``consume``."""
        if self._closed:
            raise SourceError(f"{self.where}: {call.what}: the image was already closed")
        self._ensure_base()
        reauthed = False
        while True:
            sent = self._authorization if call.authorize else None
            attempt = functools.partial(self._attempt, call, sent, consume, keep_open)
            outcome = self._retry(call.what, attempt)
            if not isinstance(outcome, _Unauthorized):
                return outcome
            if reauthed:
                raise self._auth_failure(call.what)
            self._authenticate(outcome.challenges, sent, call.what)
            reauthed = True

    def backoff(self, attempt: int) -> float:
        return float(min(_MAX_DELAY, self._options.backoff * (2**attempt)))

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    # ----------------------------------------------------------------- plumbing

    def _small_reader(
        self, call: _Call
    ) -> Callable[[httpx.Response], tuple[bytes, httpx.Headers]]:
        limit = self._options.limits.max_metadata_size
        return functools.partial(_read_small, limit=limit, where=f"{self.where}: {call.what}")

    def _blob_path(self, digest: Digest) -> str:
        return f"/v2/{self.ref.repository}/blobs/{digest}"

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self._base}{path}"

    def _ensure_base(self) -> None:
        """Pick https or http once; only relaxed (insecure or loopback) registries may use http."""
        if self._base is not None:
            return
        with self._lock:
            if self._base is None:
                self._base = self._probe_scheme()

    def _probe_scheme(self) -> str:
        url = f"https://{self._host}/v2/"
        try:
            self._http.get(url).close()
        except httpx.HTTPError as e:
            log.debug("%s: https probe failed (%s); using plain http", self._host, e)
            return f"http://{self._host}"
        log.debug("%s: speaks https (certificate not verified)", self._host)
        return f"https://{self._host}"

    def _retry(self, what: str, attempt: Callable[[], _T]) -> _T:
        retries = max(0, self._options.retries)
        tries = 0
        while True:
            tries += 1
            try:
                return attempt()
            except _RetryableStatus as e:
                if tries > retries:
                    raise SourceError(
                        f"{self.where}: {what}: HTTP {e.status} "
                        f"({_reason(e.status)}) after {tries} attempts"
                    ) from None
                delay = self.backoff(tries - 1)
                if e.retry_after is not None and e.retry_after <= _MAX_RETRY_AFTER:
                    delay = e.retry_after
                log.info("%s: %s: HTTP %s, retrying in %.2fs", self.where, what, e.status, delay)
                self.pause(delay)
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
                if tries > retries or not is_transient(e):
                    suffix = f" after {tries} attempts" if tries > 1 else ""
                    raise SourceError(f"{self.where}: {what}: {describe(e)}{suffix}") from e
                delay = self.backoff(tries - 1)
                log.info("%s: %s: %s, retrying in %.2fs", self.where, what, describe(e), delay)
                self.pause(delay)

    def _attempt(
        self,
        call: _Call,
        sent: str | None,
        consume: Callable[[httpx.Response], _T],
        keep_open: bool,
    ) -> _T | _Unauthorized:
        headers = dict(call.headers)
        if sent is not None:
            headers["Authorization"] = sent
        content: bytes | Iterator[bytes] | None = None
        if isinstance(call.upload, Path):
            headers["Content-Length"] = str(call.upload.stat().st_size)
            content = _file_chunks(call.upload)
        elif call.upload is not None:
            content = call.upload
        request = self._http.build_request(
            call.method, self._url(call.path), headers=headers, params=call.params, data=call.data,
            content=content,
        )
        response = self._http.send(request, stream=True, auth=call.auth)
        try:
            outcome = self._judge(call, response, consume)
        except BaseException:
            response.close()
            raise
        if not keep_open or isinstance(outcome, _Unauthorized):
            response.close()
        return outcome

    def _judge(
        self, call: _Call, response: httpx.Response, consume: Callable[[httpx.Response], _T]
    ) -> _T | _Unauthorized:
        status = response.status_code
        if status == 401 and call.authorize:
            return _Unauthorized(parse_challenges(response.headers.get_list("www-authenticate")))
        if status == 429 or status >= 500:
            raise _RetryableStatus(status, parse_retry_after(response.headers.get("retry-after")))
        if not response.is_success:
            raise self._status_error(call.what, response)
        return consume(response)

    def _status_error(self, what: str, response: httpx.Response) -> SourceError:
        status = response.status_code
        detail = _error_detail(response)
        suffix = f" ({detail})" if detail else ""
        if status == 401:
            return self._auth_failure(what, detail)
        if status == 403:
            return AuthError(f"{self.where}: {what}: access denied{suffix}")
        if status == 404:
            return NotFoundError(f"{self.where}: {what}: not found{suffix}")
        return SourceError(f"{self.where}: {what}: HTTP {status} ({_reason(status)}){suffix}")

    def _auth_failure(self, what: str, detail: str = "") -> AuthError:
        creds = self._credentials()
        suffix = f" ({detail})" if detail else ""
        if creds is None:
            return AuthError(
                f"{self.where}: {what}: authentication required, no credentials for "
                f"{self.ref.registry} (use --username/--password-stdin, "
                f"PORTCULLIS_USERNAME/PORTCULLIS_PASSWORD or docker login){suffix}"
            )
        return AuthError(
            f"{self.where}: {what}: authentication failed, credentials from {creds.origin} "
            f"were rejected or lack pull access{suffix}"
        )

    # ----------------------------------------------------------------- authentication

    def _credentials(self) -> Credentials | None:
        if not self._creds_loaded:
            self._creds = find_credentials(
                self.ref.registry,
                username=self._options.username,
                password=self._options.password,
                docker_config=self._options.docker_config,
            )
            self._creds_loaded = True
        return self._creds

    def _authenticate(self, challenges: list[Challenge], sent: str | None, what: str) -> None:
        with self._lock:
            if self._authorization != sent:
                return  # another thread already answered the challenge
            by_scheme = {c.scheme: c for c in challenges}
            if "bearer" in by_scheme:
                self._authorization = f"Bearer {self._bearer(by_scheme['bearer'], sent, what)}"
            elif "basic" in by_scheme:
                self._authorization = self._basic(what)
            else:
                schemes = ", ".join(sorted(by_scheme)) or "none"
                raise AuthError(
                    f"{self.where}: {what}: authentication required with an unsupported "
                    f"scheme (WWW-Authenticate: {schemes})"
                )

    def _basic(self, what: str) -> str:
        creds = self._credentials()
        if creds is None:
            raise self._auth_failure(what)
        if not creds.username or creds.identity_token:
            raise AuthError(
                f"{self.where}: {what}: registry wants a password, but {creds.origin} "
                "holds only an identity token"
            )
        pair = f"{creds.username}:{creds.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _bearer(self, challenge: Challenge, sent: str | None, what: str) -> str:
        scope = challenge.params.get("scope") or f"repository:{self.ref.repository}:pull"
        cached = self._tokens.get(scope)
        if cached is not None and f"Bearer {cached}" != sent:
            return cached
        realm = challenge.params.get("realm")
        if not realm or not realm.startswith(("http://", "https://")):
            raise SourceError(f"{self.where}: {what}: bearer challenge without a usable realm")
        token = self._fetch_token(realm, challenge.params.get("service"), scope)
        self._tokens[scope] = token
        return token

    def _fetch_token(self, realm: str, service: str | None, scope: str) -> str:
        creds = self._credentials()
        what = f"token from {httpx.URL(realm).netloc.decode(errors='replace')}"
        if creds is not None and creds.identity_token:
            data = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": USER_AGENT,
                "scope": scope,
            }
            if service:
                data["service"] = service
            call = _Call(what=what, path=realm, method="POST", data=data, authorize=False)
        else:
            params = {"scope": scope}
            if service:
                params["service"] = service
            auth = None
            if creds is not None:
                params["account"] = creds.username
                auth = (creds.username, creds.password)
            call = _Call(what=what, path=realm, params=params, auth=auth, authorize=False)
        doc = self.request(call, functools.partial(_read_json, limit=1 << 20, where=what))
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(f"{self.where}: {what}: answer holds no token")
        log.debug("%s: got a token for %s", self.where, scope)
        return token

    # ----------------------------------------------------------------- verification

    def _verify_manifest(
        self, data: bytes, reference: str, expected: Digest | None, headers: httpx.Headers
    ) -> Digest:
        if expected is None and is_digest(reference):
            expected = Digest.parse(reference)
        announced = _parse_digest_header(headers.get("docker-content-digest"))
        for claim, source in ((expected, "requested digest"), (announced, "Docker-Content-Digest")):
            if claim is None:
                continue
            got = Digest.of_bytes(data, claim.algorithm)
            if got != claim:
                raise DigestMismatchError(
                    f"{self.where}: manifest {reference}: content hashes to {got}, "
                    f"{source} says {claim}"
                )
        if expected is not None:
            return expected
        if announced is not None:
            return announced
        return Digest.of_bytes(data)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from iter(lambda: f.read(1 << 20), b"")


def _identity(response: httpx.Response) -> httpx.Response:
    return response


def _read_small(
    response: httpx.Response, *, limit: int, where: str
) -> tuple[bytes, httpx.Headers]:
    """The whole (decoded) body, refusing more than ``limit`` bytes."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise LimitExceededError("max_metadata_size", limit, where)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise LimitExceededError("max_metadata_size", limit, where)
        chunks.append(chunk)
    return b"".join(chunks), response.headers


def _read_json(response: httpx.Response, *, limit: int, where: str) -> Any:
    data, _ = _read_small(response, limit=limit, where=where)
    return load_json(data, where)


def _parse_digest_header(value: str | None) -> Digest | None:
    if not value:
        return None
    try:
        return Digest.parse(value)
    except ConfigError:
        log.debug("ignoring unparsable Docker-Content-Digest %r", value)
        return None


def _error_detail(response: httpx.Response) -> str:
    """``CODE: message`` from a registry error body ({"errors": [...]}), else ""."""
    try:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > _ERROR_BODY_LIMIT:
                return ""
        doc = load_json(body, "error body")
    except (SourceError, httpx.HTTPError, httpx.StreamError):
        return ""
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return ""
    first = errors[0]
    parts = [str(first.get(k)) for k in ("code", "message") if first.get(k)]
    return one_line(": ".join(parts))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_transient(error: BaseException) -> bool:
    """Worth another try: timeouts, refused/reset connections, truncated responses."""
    if not isinstance(error, httpx.TransportError):
        return False
    if isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    return not _is_certificate_error(error)


def _is_certificate_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def describe(error: BaseException) -> str:
    """One line about a transport error, without a traceback."""
    if _is_certificate_error(error):
        return "TLS certificate verification failed (use --insecure for a private registry)"
    if isinstance(error, httpx.TimeoutException):
        kind = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending",
            httpx.PoolTimeout: "waiting for a connection",
        }.get(type(error), "")
        return f"timed out {kind}".strip()
    if isinstance(error, httpx.ConnectError):
        return one_line(f"cannot connect ({error})")
    return one_line(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "unknown status"


def is_loopback(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` and ``::1``, with or without a port."""
    name = host.lower()
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- blob streams


class BlobStream(io.RawIOBase):
    """A layer blob read straight from the HTTP response, one chunk in memory at a time.

    A dropped connection is resumed with ``Range: bytes=N-`` (or by skipping N bytes if the
    registry ignores ranges) up to ``retries`` times; other failures raise ``SourceError``.
    """

    def __init__(
        self,
        client: RegistryClient,
        digest: Digest,
        response: httpx.Response,
        *,
        what: str,
        progress: Progress,
        total: int | None,
        retries: int,
    ) -> None:
        super().__init__()
        self._client = client
        self._digest = digest
        self._what = what
        self._progress = progress
        self._key = str(digest)
        self._retries = retries
        self._failures = 0
        self._received = 0
        self._skip = 0
        self._buffer = b""
        self._eof = False
        self._finished = False
        self._response = response
        self._chunks: Iterator[bytes] = self._response.iter_raw()
        progress.start(self._key, what, total)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0:
            return b""
        while not self._buffer and not self._eof:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        if data:
            self._progress.advance(self._key, len(data))
        return data

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(_CHUNK):
            parts.append(chunk)
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._finish_progress()
        super().close()

    def _finish_progress(self) -> None:
        if not self._finished:
            self._finished = True
            self._progress.finish(self._key)

    def _fill(self) -> None:
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._eof = True
            self._response.close()
            self._finish_progress()
            return
        except httpx.TransportError as e:
            self._resume(e)
            return
        except (httpx.HTTPError, httpx.StreamError) as e:
            raise SourceError(f"{self._client.where}: {self._what}: {describe(e)}") from e
        if self._skip:
            dropped = min(self._skip, len(chunk))
            chunk, self._skip = chunk[dropped:], self._skip - dropped
        self._received += len(chunk)
        self._buffer = chunk

    def _resume(self, error: httpx.TransportError) -> None:
        self._failures += 1
        self._response.close()
        if self._failures > self._retries or not is_transient(error):
            raise SourceError(
                f"{self._client.where}: {self._what}: {describe(error)} "
                f"after {self._received} bytes"
            ) from error
        log.info("%s: %s: %s after %d bytes, resuming", self._client.where, self._what,
                 describe(error), self._received)
        self._client.pause(self._client.backoff(self._failures - 1))
        self._response = self._client.open_blob(self._digest, self._what, self._received)
        self._chunks = self._response.iter_raw()
        if self._response.status_code != 206:
            self._skip = self._received  # no range support: the blob starts over
            return
        content_range = self._response.headers.get("content-range", "")
        if not content_range.startswith(f"bytes {self._received}-"):
            self._response.close()
            raise SourceError(
                f"{self._client.where}: {self._what}: resumed download starts at the wrong "
                f"offset (Content-Range: {one_line(content_range) or 'missing'})"
            )


# --------------------------------------------------------------------------- the image


class RegistryImage(ImageBase):
    def __init__(self, client: RegistryClient, info: ImageInfo, options: SourceOptions) -> None:
        super().__init__()
        self.info = info
        self._client = client
        self._options = options
        self.on_close(client.close)

    def __enter__(self) -> Self:
        return self

    def open_layer(self, layer: LayerRef) -> Reader:
        if layer.digest is None:
            raise SourceError(f"{self._client.where}: layer {layer.index} has no digest")
        digest = Digest.parse(layer.digest)
        what = f"layer {layer.index} blob {digest}"
        response = self._client.open_blob(digest, what)
        stream = BlobStream(
            self._client,
            digest,
            response,
            what=what,
            progress=self._options.progress,
            total=layer.size,
            retries=max(0, self._options.retries),
        )
        return VerifyingReader(
            stream,
            digest,
            what=f"{self._client.where}: {what}",
            size_limit=self._options.limits.max_layer_size,
            expected_size=layer.size,
        )


def open_registry_image(
    ref: ImageReference,
    options: SourceOptions,
    *,
    transport: httpx.BaseTransport | None = None,
) -> RegistryImage:
    """Open ``registry:HOST/REPO[:TAG][@DIGEST]``: manifest, config, layer list.

    ``transport`` replaces httpx's network transport (tests, proxies of the caller's choice).
    """
    if ref.registry is None:
        raise ConfigError(f"{ref.text}: not a registry reference")
    client = RegistryClient(ref.registry, options, transport=transport)
    try:
        info = _load_info(client, ref, options)
    except BaseException:
        client.close()
        raise
    return RegistryImage(client, info, options)


def _load_info(client: RegistryClient, ref: ImageReference, options: SourceOptions) -> ImageInfo:
    assert ref.registry is not None
    digest, manifest = resolve_manifest(client, ref.registry, options)
    config_bytes = client.fetch_blob(manifest.config.digest, "config blob")
    return image_info(ref.text, "registry", str(digest), manifest, config_bytes, client.where)


def resolve_manifest(
    client: RegistryClient, ref: RegistryRef, options: SourceOptions
) -> tuple[Digest, Manifest]:
    """Follow the tag or digest (and any index) down to one image manifest."""
    reference = ref.reference
    expected: Digest | None = Digest.parse(ref.digest) if ref.digest else None
    for _ in range(_MAX_NESTING):
        data, media_type, digest = client.fetch_manifest(reference, expected)
        doc = parse_document(data, f"{client.where}: manifest {reference}", media_type)
        if isinstance(doc, Manifest):
            return digest, doc
        chosen: Descriptor = select_platform(doc, options.wanted_platform(), str(ref))
        log.debug("%s: platform %s → %s", ref, options.wanted_platform(), chosen.digest)
        reference, expected = str(chosen.digest), chosen.digest
    raise SourceError(f"{ref}: image indexes nested too deeply")
