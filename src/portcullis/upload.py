"""Sending a finished JSON report to the console (``portcullis upload``, ``scan --upload``).

Plain HTTP client code: it never imports the server package."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from portcullis.errors import PortcullisError, one_line

UPLOAD_PATH = "/api/v1/scans"
RULES_PATH = "/api/v1/suppressions"
POLICY_PATH = "/api/v1/policy"


class UploadError(PortcullisError):
    """The console refused the report or could not be reached."""


class Uploaded(msgspec.Struct, frozen=True):
    scan_id: int
    created: bool  # False: the console had this report already
    url: str  # the scan's page


def upload(body: bytes, server: str, token: str, *, timeout: float = 60.0) -> Uploaded:
    if not server.startswith(("http://", "https://")):
        raise UploadError(f"--server wants an http:// or https:// URL, got {server!r}")
    if not token:
        raise UploadError("an upload needs a token (--token or PORTCULLIS_TOKEN)")
    base = server.rstrip("/")
    try:
        response = httpx.post(base + UPLOAD_PATH, content=body, timeout=timeout,
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"})
    except httpx.HTTPError as e:
        raise UploadError(f"cannot reach the console at {base}: {one_line(str(e))}") from None
    if response.status_code not in (200, 201):
        raise UploadError(f"the console at {base} refused the report "
                          f"(HTTP {response.status_code}): {_detail(response)}")
    try:
        answer = response.json()
        return Uploaded(int(answer["id"]), bool(answer["created"]), base + str(answer["url"]))
    except (ValueError, KeyError, TypeError):
        raise UploadError(f"the console at {base} answered with something that is not an "
                          f"upload receipt: {one_line(response.text)}") from None


def fetch_rules(server: str, token: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The project's live suppressions (``GET /api/v1/suppressions``)."""
    base = server.rstrip("/")
    try:
        response = httpx.get(base + RULES_PATH, timeout=timeout,
                             headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        raise UploadError(f"cannot reach the console at {base}: {one_line(str(e))}") from None
    if response.status_code != 200:
        raise UploadError(f"the console at {base} refused to list the project's rules "
                          f"(HTTP {response.status_code}): {_detail(response)}")
    try:
        items: list[dict[str, Any]] = response.json()["items"]
    except (ValueError, KeyError, TypeError):
        raise UploadError(f"the console at {base} answered the rules with something else: "
                          f"{one_line(response.text)}") from None
    return items


def fetch_policy(server: str, token: str, *, timeout: float = 60.0) -> str | None:
    """The project's policy YAML (``GET /api/v1/policy``); None when it has none."""
    base = server.rstrip("/")
    try:
        response = httpx.get(base + POLICY_PATH, timeout=timeout,
                             headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        raise UploadError(f"cannot reach the console at {base}: {one_line(str(e))}") from None
    if response.status_code == 404:
        return None  # a console older than project policies
    if response.status_code != 200:
        raise UploadError(f"the console at {base} refused to give the project's policy "
                          f"(HTTP {response.status_code}): {_detail(response)}")
    try:
        policy = response.json()["policy"]
    except (ValueError, KeyError, TypeError):
        policy = response  # neither text nor null: refused below
    if policy is None or isinstance(policy, str):
        return policy
    raise UploadError(f"the console at {base} answered the policy with something else: "
                      f"{one_line(response.text)}")


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return one_line(str(detail) if detail else response.text or response.reason_phrase)
