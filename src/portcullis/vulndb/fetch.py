"""Download one file over HTTP(S) with progress, retries with backoff, and resume.

The body goes to ``DEST.part``; the validator the server gave (ETag, else Last-Modified) goes
beside it. A retry, or the next run after an interrupted one, asks only for the missing bytes
(``Range`` with ``If-Range``): a server that ignores ranges, or whose file changed, answers
200 and the download starts over. When the server offers an MD5 (Google Cloud Storage's
``x-goog-hash``, or ``Content-MD5``), the finished file is checked against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

from portcullis.errors import VulnDBError
from portcullis.progress import Progress

_MAX_DELAY = 30.0
# The largest public export is a few hundred MB; a body past this is a misconfigured or
# hostile server filling the disk, not an export.
MAX_DOWNLOAD_BYTES = 8 * 1024**3
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class _Transient(Exception):
    """Worth another try (5xx, 429, truncated body, checksum mismatch)."""


class Fetched(msgspec.Struct, frozen=True):
    path: Path
    bytes: int
    last_modified: str | None


class Retry(msgspec.Struct, frozen=True):
    retries: int = 4
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        return min(_MAX_DELAY, self.backoff * 2.0**attempt)


def fetch(client: httpx.Client, url: str, dest: Path, what: str, retry: Retry,
          progress: Progress, limit: int = MAX_DOWNLOAD_BYTES) -> Fetched:
    """``url`` saved at ``dest``; ``VulnDBError`` (one line, naming ``what``) once the retries
    are spent or on an answer no retry can change (404, 403, ...)."""
    part = dest.with_name(dest.name + ".part")
    attempt = 0
    while True:
        try:
            fetched = _attempt(client, url, part, what, progress, limit)
        except (_Transient, httpx.TransportError) as e:
            if isinstance(e, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
                raise VulnDBError(f"{what}: cannot fetch {url}: {e}") from e
            if attempt >= retry.retries:
                tries = f" after {attempt + 1} tries" if attempt else ""
                raise VulnDBError(f"{what}: download of {url} failed{tries}: "
                                  f"{_describe(e)}") from e
            retry.sleep(retry.delay(attempt))
            attempt += 1
            continue
        part.replace(dest)
        _validator_path(part).unlink(missing_ok=True)
        return Fetched(dest, fetched[0], fetched[1])


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError):
        return f"connection lost mid-download ({error})"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect ({error})"
    return str(error) or type(error).__name__


def _validator_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _saved_state(part: Path) -> tuple[int, str | None, str | None]:
    """(bytes already there, their validator, the MD5 the server announced) of a previous try."""
    state = _validator_path(part)
    if not part.is_file() or not state.is_file():
        return 0, None, None
    try:
        saved = json.loads(state.read_text())
        return part.stat().st_size, saved.get("validator"), saved.get("md5")
    except (OSError, ValueError, AttributeError):
        return 0, None, None


def _attempt(client: httpx.Client, url: str, part: Path, what: str, progress: Progress,
             limit: int) -> tuple[int, str | None]:
    offset, validator, md5 = _saved_state(part)
    # identity: the bytes on disk are the bytes on the wire, so Range offsets line up.
    headers = {"Accept-Encoding": "identity"}
    if offset and validator:
        headers |= {"Range": f"bytes={offset}-", "If-Range": validator}
    with client.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status == 416:  # our part is stale or already whole: start over
            part.unlink(missing_ok=True)
            raise _Transient("server refused the resume range")
        if status == 429 or status >= 500:
            raise _Transient(f"HTTP {status}")
        if status not in (200, 206):
            raise VulnDBError(f"{what}: {url} answered HTTP {status}")
        if status == 206 and not _resumes_at(response, offset):
            part.unlink(missing_ok=True)  # the next try asks for the whole file
            raise _Transient(f"unexpected Content-Range {response.headers.get('content-range')}")
        if status == 200:
            offset, md5 = 0, None
        md5 = _announced_md5(response) or md5
        validator = response.headers.get("etag") or response.headers.get("last-modified")
        _validator_path(part).write_text(json.dumps({"validator": validator, "md5": md5}))
        length = response.headers.get("content-length")
        total = offset + int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise VulnDBError(f"{what}: {url} is {total} bytes, more than the {limit} allowed")
        written = _save_body(response, part, offset, total, what, progress, limit)
    if total is not None and written != total:
        raise _Transient(f"got {written} of {total} bytes")
    if md5 is not None and _md5_of(part) != md5:
        part.unlink(missing_ok=True)
        raise _Transient("MD5 checksum mismatch")
    return written, response.headers.get("last-modified")


def _save_body(response: httpx.Response, part: Path, offset: int, total: int | None,
               what: str, progress: Progress, limit: int) -> int:
    key = f"download {what}"
    progress.start(key, what, total)
    progress.advance(key, offset)
    written = offset
    try:
        with part.open("ab" if offset else "wb") as out:
            # Raw chunks as they arrive: a chunked iterator would hold back the last bytes
            # received when the connection drops, and they are the ones a resume needs.
            for chunk in response.iter_raw():
                out.write(chunk)
                written += len(chunk)
                progress.advance(key, len(chunk))
                if written > limit:
                    raise VulnDBError(f"{what}: download passed the {limit} bytes allowed")
    finally:
        progress.finish(key)
    return written


def _resumes_at(response: httpx.Response, offset: int) -> bool:
    m = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    return m is not None and int(m.group(1)) == offset


def _announced_md5(response: httpx.Response) -> str | None:
    """The whole file's MD5 as base64, if the server says it (GCS sends it with ranges too)."""
    header: str = response.headers.get("x-goog-hash", "")
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "md5" and value:
            return value
    md5: str | None = response.headers.get("content-md5")
    return md5 if response.status_code == 200 else None


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()

