"""Reading scans back: filtered lists with pagination, one scan's findings, comparisons."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from portcullis.server.tables import Project, Scan

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
# risk_level values at or above each severity
AT_LEAST = {s: SEVERITIES[: i + 1] for i, s in enumerate(SEVERITIES)}
HAS = {"vulnerabilities": Scan.vulnerabilities, "malware": Scan.malware,
       "secrets": Scan.secrets}
PER_PAGE_MAX = 500


class ScanFilter(msgspec.Struct, frozen=True, kw_only=True):
    project_ids: tuple[int, ...]  # what the caller may see (a token: its one project)
    project: str | None = None
    image: str | None = None  # substring of the image name
    tag: str | None = None
    digest: str | None = None
    verdict: str | None = None  # passed | blocked
    has: tuple[str, ...] = ()  # vulnerabilities, malware, secrets
    severity: str | None = None  # risk level at or above
    since: datetime | None = None
    until: datetime | None = None
    latest: bool = False  # only the newest scan of each image name and tag
    limit: int = 50
    offset: int = 0
    extra: tuple[tuple[str, str], ...] = ()  # the page's query string, for its page links


# Any: Select's type parameters differ between SQLAlchemy 2.0 and 2.1.
def _where(query: Any, f: ScanFilter) -> Any:
    query = query.where(Scan.project_id.in_(f.project_ids))
    if f.project:
        query = query.where(Project.name == f.project)
    if f.image:
        query = query.where(Scan.image_name.contains(f.image, autoescape=True))
    if f.tag:
        query = query.where(Scan.tag == f.tag)
    if f.digest:
        query = query.where(Scan.image_digest == f.digest)
    if f.verdict in ("passed", "blocked"):
        query = query.where(Scan.passed.is_(f.verdict == "passed"))
    for name in f.has:
        query = query.where(HAS[name] > 0)
    if f.severity in AT_LEAST:
        query = query.where(Scan.risk_level.in_(AT_LEAST[f.severity]))
    if f.since:
        query = query.where(Scan.created_at >= f.since)
    if f.until:
        query = query.where(Scan.created_at <= f.until)
    if f.latest:
        newest = (select(func.max(Scan.id).label("id"))
                  .where(Scan.project_id.in_(f.project_ids))
                  .group_by(Scan.project_id, Scan.image_name, Scan.tag).subquery())
        query = query.join(newest, and_(newest.c.id == Scan.id))
    return query


def list_scans(session: Session, f: ScanFilter) -> tuple[list[tuple[Scan, str]], int]:
    """One page of (scan, project name), newest first, and the total that matched."""
    base = select(Scan, Project.name).join(Project, Project.id == Scan.project_id)
    query = _where(base, f)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    limit = max(1, min(f.limit, PER_PAGE_MAX))
    rows = session.execute(query.order_by(Scan.created_at.desc(), Scan.id.desc())
                           .limit(limit).offset(max(0, f.offset))).all()
    return [(scan, name) for scan, name in rows], total


def scan_summary(scan: Scan, project: str) -> dict[str, Any]:
    return {
        "id": scan.id, "project": project, "reference": scan.reference,
        "image_name": scan.image_name, "tag": scan.tag, "image_digest": scan.image_digest or None,
        "report_fingerprint": scan.report_fingerprint, "source": scan.source,
        "passed": scan.passed, "risk_level": scan.risk_level, "size": scan.size,
        "packages": scan.packages, "vulnerabilities": scan.vulnerabilities,
        "malware": scan.malware, "secrets": scan.secrets,
        "created_at": scan.created_at.isoformat() + "Z",
        "uploaded_at": scan.uploaded_at.isoformat() + "Z",
    }


def report_of(scan: Scan) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(scan.report)
    return doc


def findings_of(doc: dict[str, Any], kinds: tuple[str, ...] = (),
                severities: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [f for f in doc.get("findings", [])
            if (not kinds or f.get("kind") in kinds)
            and (not severities or f.get("severity") in severities)]


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Findings of ``new`` not in ``old`` (new), of ``old`` not in ``new`` (fixed), and in
    both (unchanged), matched by fingerprint."""
    before = {f["fingerprint"]: f for f in old.get("findings", [])}
    after = {f["fingerprint"]: f for f in new.get("findings", [])}
    return {
        "new": [f for k, f in after.items() if k not in before],
        "fixed": [f for k, f in before.items() if k not in after],
        "unchanged": [f for k, f in after.items() if k in before],
    }
