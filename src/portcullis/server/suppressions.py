"""Project suppressions: central rules every pipeline of the project gets at scan time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portcullis.errors import ConfigError
from portcullis.server.tables import Suppression, utcnow

RULES = {
    "allow": "a finding id (CVE, rule) that never blocks",
    "block": "a finding id that always blocks",
    "image-allow": "an image name whose scans never block",
}
VALUE_MAX = 500


def add(session: Session, project_id: int, rule: str, value: str, reason: str = "",
        expires_at: datetime | None = None) -> Suppression:
    value = value.strip()
    if rule not in RULES:
        raise ConfigError(f"rule must be one of {', '.join(RULES)}: {rule!r}")
    if not value or len(value) > VALUE_MAX:
        raise ConfigError(f"the value must have 1 to {VALUE_MAX} characters")
    if expires_at is not None and expires_at.tzinfo is not None:
        expires_at = expires_at.astimezone(UTC).replace(tzinfo=None)
    row = Suppression(project_id=project_id, rule=rule, value=value, reason=reason.strip(),
                      expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def active(session: Session, project_id: int) -> list[Suppression]:
    """Rules that have not expired, oldest first."""
    return list(session.scalars(
        select(Suppression).where(Suppression.project_id == project_id,
                                  or_(Suppression.expires_at.is_(None),
                                      Suppression.expires_at > utcnow()))
        .order_by(Suppression.id)))


def remove(session: Session, project_id: int, suppression_id: int) -> bool:
    row = session.get(Suppression, suppression_id)
    if row is None or row.project_id != project_id:
        return False
    session.delete(row)
    return True


def as_dict(row: Suppression) -> dict[str, Any]:
    return {"id": row.id, "rule": row.rule, "value": row.value, "reason": row.reason,
            "expires_at": row.expires_at.isoformat() + "Z" if row.expires_at else None,
            "created_at": row.created_at.isoformat() + "Z"}
