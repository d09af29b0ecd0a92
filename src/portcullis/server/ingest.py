"""An uploaded report: parsed, checked against the report schema, stored once.

Uploads are idempotent: the report's fingerprint (SHA-256 of its canonical JSON) and the image
digest identify it, and a unique constraint makes a retried or concurrent duplicate return the
scan already stored instead of a second row."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import msgspec
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portcullis.server.tables import FindingRow, Scan

# Prefixes of CONTRACT.md §2 that name a registry image (the rest name a file or directory).
REGISTRY_SCHEMES = ("registry:", "docker-daemon:")
FILE_SCHEMES = ("docker-archive:", "oci-archive:", "oci:", "dir:", "sbom:")
SECRET_KINDS = ("secret", "sensitive-file")
MESSAGE_MAX = 300


class InvalidReport(ValueError):
    """The upload is not a Portcullis JSON report; the message says where and why."""


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("portcullis").joinpath("data/report.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def parse(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidReport(f"the body is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidReport("the body is not a JSON object (a Portcullis report is one)")
    error = best_match(_validator().iter_errors(doc))
    if error is not None:
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        message = error.message
        if len(message) > MESSAGE_MAX:
            message = message[:MESSAGE_MAX] + "…"
        raise InvalidReport(f"the report does not match the report schema at {where}: {message}")
    return doc


def fingerprint(doc: dict[str, Any]) -> str:
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def image_name_and_tag(reference: str) -> tuple[str, str]:
    """``registry:host:5000/app:1.0@sha256:…`` → (``host:5000/app``, ``1.0``); a file or
    directory reference keeps its path as the name and has no tag."""
    if reference.startswith(FILE_SCHEMES):
        return reference.split(":", 1)[1], ""
    for scheme in REGISTRY_SCHEMES:
        reference = reference.removeprefix(scheme)
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, ""


def _created(doc: dict[str, Any]) -> datetime:
    text = str(doc.get("created_at") or "")
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC).replace(tzinfo=None)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def text(value: object, limit: int | None = None) -> str:
    """A string every database stores: lone surrogates (file names that were not UTF-8) as
    \\udcXX escapes, NUL (PostgreSQL refuses it) as \\x00."""
    out = str(value).encode("utf-8", "backslashreplace").decode("utf-8").replace("\0", "\\x00")
    return out[:limit] if limit else out


class Stored(msgspec.Struct, frozen=True):
    scan_id: int
    created: bool  # False: the same report was there already


def _scan_row(project_id: int, doc: dict[str, Any], body: bytes) -> Scan:
    artifact = doc["artifact"]
    findings = doc["findings"]
    digest = artifact.get("manifest_digest") or artifact.get("config_digest") or ""
    reference = text(artifact.get("reference") or "")
    name, tag = image_name_and_tag(reference)
    kinds = [f["kind"] for f in findings]
    return Scan(
        project_id=project_id, report_fingerprint=fingerprint(doc), image_digest=digest,
        reference=reference, image_name=name[:500], tag=tag[:200],
        source=str(artifact.get("source") or ""), passed=bool(doc["verdict"]["passed"]),
        risk_level=str(doc["summary"].get("risk_level") or "NONE"),
        size=int(artifact.get("size") or 0), packages=len(doc["packages"]),
        vulnerabilities=kinds.count("vulnerability"), malware=kinds.count("malware"),
        secrets=sum(kinds.count(k) for k in SECRET_KINDS), created_at=_created(doc),
        report=body.decode("utf-8", "surrogatepass"),
    )


def _finding_rows(scan_id: int, doc: dict[str, Any]) -> list[FindingRow]:
    return [
        FindingRow(scan_id=scan_id, kind=f["kind"], finding_id=text(f["id"], 300),
                   fingerprint=f["fingerprint"], severity=f["severity"],
                   title=text(f.get("title") or ""),
                   package=None if f.get("package") is None else text(f["package"]),
                   kev=bool(f.get("kev")))
        for f in doc["findings"]
    ]


def store(session: Session, project_id: int, doc: dict[str, Any], body: bytes) -> Stored:
    row = _scan_row(project_id, doc, body)
    existing = _existing(session, row)
    if existing is not None:
        return Stored(existing, False)
    try:
        with session.begin_nested():  # a savepoint: the duplicate check below may follow
            session.add(row)
            session.flush()
            session.add_all(_finding_rows(row.id, doc))
            session.flush()
    except IntegrityError:
        # A concurrent upload of the same report won the race: answer with its scan.
        found = _existing(session, row)
        if found is None:
            raise
        return Stored(found, False)
    return Stored(row.id, True)


def _existing(session: Session, row: Scan) -> int | None:
    return session.scalar(select(Scan.id).where(
        Scan.project_id == row.project_id, Scan.report_fingerprint == row.report_fingerprint,
        Scan.image_digest == row.image_digest))
