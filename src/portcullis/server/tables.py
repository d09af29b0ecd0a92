"""The database tables (SQLAlchemy 2 declarative). Alembic's migrations create them; a test
checks that the migrations and these classes agree.

Times are naive UTC everywhere (SQLite keeps no time zone; PostgreSQL would convert)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Project(Base):
    """A CI/CD identity: the pipelines of one team upload into it with its tokens."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    policy: Mapped[str | None] = mapped_column(Text, nullable=True)  # YAML, docs/policy.md


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))  # argon2id
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)  # every project, every setting
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    """A user's role in a project: ``viewer`` reads, ``admin`` also changes settings."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))


class ApiToken(Base):
    """A project's upload token. Only its SHA-256 is stored: the token is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))  # shown in lists to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebSession(Base):
    """A logged-in browser. The cookie holds a random id; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Scan(Base):
    """One uploaded report. The report itself is kept whole (``report``); the columns are what
    lists, filters and the dashboard need without parsing it."""

    __tablename__ = "scans"
    __table_args__ = (
        # Idempotent upload: the same report of the same image is stored once per project.
        UniqueConstraint("project_id", "report_fingerprint", "image_digest",
                         name="uq_scans_report"),
        Index("ix_scans_project_uploaded", "project_id", "uploaded_at"),
        Index("ix_scans_image", "project_id", "image_name", "tag"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    report_fingerprint: Mapped[str] = mapped_column(String(80))
    image_digest: Mapped[str] = mapped_column(String(100))  # "" when the image has none
    reference: Mapped[str] = mapped_column(Text)
    image_name: Mapped[str] = mapped_column(String(500))
    tag: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)
    risk_level: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(BigInteger)
    packages: Mapped[int] = mapped_column(Integer)
    vulnerabilities: Mapped[int] = mapped_column(Integer)
    malware: Mapped[int] = mapped_column(Integer)
    secrets: Mapped[int] = mapped_column(Integer)  # secret and sensitive-file findings
    created_at: Mapped[datetime] = mapped_column(DateTime)  # when the scan ran
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    report: Mapped[str] = mapped_column(Text)  # the JSON report as uploaded


class FindingRow(Base):
    """One finding of one scan, for the filters, the dashboard and the risk view."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_scan", "scan_id"),
        Index("ix_findings_id", "finding_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    finding_id: Mapped[str] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    package: Mapped[str | None] = mapped_column(Text, nullable=True)
    kev: Mapped[bool] = mapped_column(Boolean, default=False)


class Suppression(Base):
    """A project rule: ``allow`` a finding id, ``block`` one, or ``image-allow`` an image name;
    optional expiry."""

    __tablename__ = "suppressions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
