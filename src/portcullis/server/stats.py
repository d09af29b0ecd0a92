"""What the dashboard, the risk view and the usage table count, over the projects a person may
see. "Latest" means the newest scan of each image name and tag: an image fixed in its last
build no longer counts against the team."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portcullis.server.tables import FindingRow, Scan, utcnow

SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
TOP = 10
DAYS = 30


def latest_ids(project_ids: tuple[int, ...]) -> Any:
    """A subquery of the newest scan id per (project, image name, tag)."""
    return (select(func.max(Scan.id).label("id")).where(Scan.project_id.in_(project_ids))
            .group_by(Scan.project_id, Scan.image_name, Scan.tag).subquery())


def _day(value: Any) -> str:
    return str(value)[:10]  # SQLite answers a string, PostgreSQL a date


class Dashboard(msgspec.Struct):
    scans: int = 0
    images: int = 0
    blocked: int = 0
    passed: int = 0
    # day, passed, blocked
    per_day: list[tuple[str, int, int]] = msgspec.field(default_factory=list)
    by_severity: dict[str, int] = msgspec.field(default_factory=dict)
    by_kind: dict[str, int] = msgspec.field(default_factory=dict)
    top_images: list[Scan] = msgspec.field(default_factory=list)
    top_vulns: list[tuple[str, str, int]] = msgspec.field(default_factory=list)  # id, title, images
    kev: list[tuple[FindingRow, Scan]] = msgspec.field(default_factory=list)


def dashboard(session: Session, project_ids: tuple[int, ...]) -> Dashboard:
    out = Dashboard()
    if not project_ids:
        return out
    mine = Scan.project_id.in_(project_ids)
    out.scans = session.scalar(select(func.count()).where(mine)) or 0
    latest = latest_ids(project_ids)
    out.images = session.scalar(select(func.count()).select_from(latest)) or 0
    for passed, count in session.execute(select(Scan.passed, func.count())
                                         .join(latest, latest.c.id == Scan.id)
                                         .group_by(Scan.passed)):
        if passed:
            out.passed = count
        else:
            out.blocked = count
    out.per_day = _per_day(session, project_ids)
    in_latest = FindingRow.scan_id.in_(select(latest.c.id))
    out.by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
    for severity, count in session.execute(select(FindingRow.severity, func.count())
                                           .where(in_latest).group_by(FindingRow.severity)):
        out.by_severity[severity] = count
    for kind, count in session.execute(
            select(FindingRow.kind, func.count()).where(in_latest).group_by(FindingRow.kind)
            .order_by(func.count().desc())):
        out.by_kind[kind] = count
    out.top_images = list(session.scalars(
        select(Scan).join(latest, latest.c.id == Scan.id).where(Scan.vulnerabilities > 0)
        .order_by(Scan.vulnerabilities.desc(), Scan.id.desc()).limit(TOP)))
    out.top_vulns = [(fid, title, n) for fid, title, n in session.execute(
        select(FindingRow.finding_id, func.max(FindingRow.title),
               func.count(func.distinct(FindingRow.scan_id)))
        .where(in_latest, FindingRow.kind == "vulnerability")
        .group_by(FindingRow.finding_id)
        .order_by(func.count(func.distinct(FindingRow.scan_id)).desc(), FindingRow.finding_id)
        .limit(TOP))]
    out.kev = [(f, s) for f, s in session.execute(
        select(FindingRow, Scan).join(Scan, Scan.id == FindingRow.scan_id)
        .where(in_latest, FindingRow.kev.is_(True)).order_by(Scan.image_name).limit(50))]
    return out


def _per_day(session: Session, project_ids: tuple[int, ...]) -> list[tuple[str, int, int]]:
    since = utcnow() - timedelta(days=DAYS)
    day = func.date(Scan.created_at)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for value, passed, count in session.execute(
            select(day, Scan.passed, func.count())
            .where(Scan.project_id.in_(project_ids), Scan.created_at >= since)
            .group_by(day, Scan.passed)):
        counts[_day(value)][0 if passed else 1] += count
    return [(d, p, b) for d, (p, b) in sorted(counts.items())]


class Risk(msgspec.Struct):
    kind: str
    id: str
    severity: str
    title: str
    kev: bool
    images: list[tuple[int, str]]  # (scan id, image name:tag) of the latest scans affected


def risks(session: Session, project_ids: tuple[int, ...], kind: str | None = None,
          limit: int = 500) -> list[Risk]:
    """One row per vulnerability or rule across the latest scans, worst first."""
    if not project_ids:
        return []
    latest = latest_ids(project_ids)
    query = (select(FindingRow, Scan.id, Scan.image_name, Scan.tag)
             .join(Scan, Scan.id == FindingRow.scan_id)
             .where(FindingRow.scan_id.in_(select(latest.c.id))))
    if kind:
        query = query.where(FindingRow.kind == kind)
    found: dict[tuple[str, str], Risk] = {}
    for row, scan_id, name, tag in session.execute(query):
        key = (row.kind, row.finding_id)
        risk = found.get(key)
        if risk is None:
            risk = found[key] = Risk(row.kind, row.finding_id, row.severity, row.title,
                                     row.kev, [])
        if _rank(row.severity) < _rank(risk.severity):
            risk.severity = row.severity
        risk.kev = risk.kev or row.kev
        label = f"{name}:{tag}" if tag else name
        if (scan_id, label) not in risk.images:
            risk.images.append((scan_id, label))
    ordered = sorted(found.values(),
                     key=lambda r: (_rank(r.severity), not r.kev, -len(r.images), r.id))
    return ordered[:limit]


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


class Usage(msgspec.Struct):
    per_day: list[tuple[str, int, int]]  # day, scans, bytes scanned
    images: int
    scans: int
    bytes: int


def usage(session: Session, project_id: int) -> Usage:
    """What a project consumed: scans per day and bytes scanned (image sizes), for budgets."""
    day = func.date(Scan.uploaded_at)
    rows = session.execute(select(day, func.count(), func.coalesce(func.sum(Scan.size), 0))
                           .where(Scan.project_id == project_id).group_by(day)
                           .order_by(day.desc()).limit(90)).all()
    images = session.scalar(select(func.count()).select_from(latest_ids((project_id,)))) or 0
    per_day = [(_day(d), int(n), int(b)) for d, n, b in rows]
    return Usage(per_day, images, sum(n for _, n, _ in per_day), sum(b for _, _, b in per_day))


def kinds_count(findings: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(f.get("kind")) for f in findings)
