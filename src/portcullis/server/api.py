"""The JSON API under /api/v1 (CONTRACT.md §1). Every call carries a project's bearer token and
sees that project only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from portcullis.errors import ConfigError
from portcullis.server import ingest, queries, suppressions
from portcullis.server.auth import TokenIdentity, bearer
from portcullis.server.tables import Project, Scan

router = APIRouter(prefix="/api/v1", tags=["api"])


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def token(request: Request, session: DB) -> TokenIdentity:
    return bearer(request, session)


Token = Annotated[TokenIdentity, Depends(token)]


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes (checked as it streams in, so a lying
    or missing Content-Length does not help)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the report is larger than the server's limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413,
                                f"the report is larger than the server's limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "description": "A Portcullis JSON report (docs/report.md)"}}}}}


@router.post("/scans", status_code=201, openapi_extra=UPLOAD_BODY,
             responses={200: {"description": "the same report was already uploaded"},
                        413: {"description": "body too large"},
                        422: {"description": "not a Portcullis JSON report"}})
async def upload(request: Request, response: Response) -> dict[str, Any]:
    """Upload a JSON report into the token's project (idempotent)."""
    db = request.app.state.db

    def check_token() -> TokenIdentity:
        # Its own short session, closed before the store opens another: a request never holds
        # two pooled connections at once (50 uploaders would otherwise drain the pool).
        with db.session() as session:
            return bearer(request, session)

    who = await run_in_threadpool(check_token)
    body = await read_limited(request, request.app.state.config.max_upload_bytes)
    try:
        doc = await run_in_threadpool(ingest.parse, body)
    except ingest.InvalidReport as e:
        raise HTTPException(422, str(e)) from None

    def store() -> ingest.Stored:
        with db.writer(), db.session() as session:
            return ingest.store(session, who.project_id, doc, body)

    stored = await run_in_threadpool(store)
    if not stored.created:
        response.status_code = 200
    return {"id": stored.scan_id, "created": stored.created, "url": f"/scans/{stored.scan_id}"}


@router.get("/scans")
def list_scans(
    session: DB, who: Token,
    image: str | None = None, tag: str | None = None, digest: str | None = None,
    verdict: Annotated[str | None, Query(pattern="^(passed|blocked)$")] = None,
    has: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    severity: Annotated[str | None, Query(pattern="^(CRITICAL|HIGH|MEDIUM|LOW|UNKNOWN)$")] = None,
    since: datetime | None = None, until: datetime | None = None, latest: bool = False,
    limit: Annotated[int, Query(ge=1, le=queries.PER_PAGE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The project's scans, newest first: ``{"items": [...], "total": N}``."""
    unknown = [h for h in has if h not in queries.HAS]
    if unknown:
        raise HTTPException(422, f"has: unknown {unknown} (known: {', '.join(queries.HAS)})")
    found, total = queries.list_scans(session, queries.ScanFilter(
        project_ids=(who.project_id,), image=image, tag=tag, digest=digest, verdict=verdict,
        has=tuple(has), severity=severity, since=_naive(since), until=_naive(until),
        latest=latest, limit=limit, offset=offset))
    return {"items": [queries.scan_summary(s, p) for s, p in found], "total": total}


def _naive(stamp: datetime | None) -> datetime | None:
    if stamp is None or stamp.tzinfo is None:
        return stamp
    return stamp.astimezone(UTC).replace(tzinfo=None)


def own_scan(session: Session, who: TokenIdentity, scan_id: int) -> tuple[Scan, str]:
    """The scan when it belongs to the token's project; 404 otherwise (another project's scan
    is not even confirmed to exist)."""
    row = session.execute(select(Scan, Project.name).join(Project)
                          .where(Scan.id == scan_id)).first()
    if row is None or row[0].project_id != who.project_id:
        raise HTTPException(404, f"no scan {scan_id} in this token's project")
    return row[0], row[1]


@router.get("/scans/{scan_id}")
def get_scan(session: DB, who: Token, scan_id: int,
             kind: Annotated[list[str], Query()] = [],  # noqa: B006
             severity: Annotated[list[str], Query()] = []) -> dict[str, Any]:  # noqa: B006
    """One scan with its findings (optionally only some kinds and severities) and its report."""
    scan, project = own_scan(session, who, scan_id)
    doc = queries.report_of(scan)
    findings = queries.findings_of(doc, tuple(kind), tuple(s.upper() for s in severity))
    return {**queries.scan_summary(scan, project), "findings": findings, "report": doc}


@router.get("/scans/{scan_id}/compare/{other_id}")
def compare(session: DB, who: Token, scan_id: int, other_id: int) -> dict[str, Any]:
    """Findings of scan ``scan_id`` against the earlier scan ``other_id``: new, fixed,
    unchanged (matched by fingerprint)."""
    new, _ = own_scan(session, who, scan_id)
    old, _ = own_scan(session, who, other_id)
    return {"scan": scan_id, "against": other_id,
            **queries.compare(queries.report_of(old), queries.report_of(new))}


class SuppressionIn(BaseModel):
    rule: str = Field(description="allow | block | image-allow")
    value: str = Field(description="a finding id, or an image name for image-allow")
    reason: str = ""
    expires_at: datetime | None = None


@router.get("/policy")
def project_policy(session: DB, who: Token) -> dict[str, Any]:
    """The project's policy YAML (null: none); the CLI applies it when the scan has no
    ``--policy`` of its own."""
    found = session.get(Project, who.project_id)
    return {"project": found.name if found else None,
            "policy": found.policy if found else None}


@router.get("/suppressions")
def list_suppressions(session: DB, who: Token) -> dict[str, Any]:
    """The project's rules that have not expired (the CLI fetches them at scan time)."""
    rows = suppressions.active(session, who.project_id)
    return {"items": [suppressions.as_dict(r) for r in rows], "total": len(rows)}


@router.post("/suppressions", status_code=201)
def add_suppression(session: DB, who: Token, body: SuppressionIn) -> dict[str, Any]:
    try:
        row = suppressions.add(session, who.project_id, body.rule, body.value, body.reason,
                               body.expires_at)
    except ConfigError as e:
        raise HTTPException(422, str(e)) from None
    session.commit()  # before the answer: the caller may read it back at once
    return suppressions.as_dict(row)


@router.delete("/suppressions/{suppression_id}", status_code=204)
def delete_suppression(session: DB, who: Token, suppression_id: int) -> Response:
    if not suppressions.remove(session, who.project_id, suppression_id):
        raise HTTPException(404, f"no suppression {suppression_id} in this token's project")
    session.commit()
    return Response(status_code=204)
