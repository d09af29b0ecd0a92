"""The first schema: projects, users, memberships, tokens, sessions, scans, findings,
suppressions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _project() -> sa.Column[int]:
    return sa.Column("project_id", sa.Integer(),
                     sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "projects", _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "users", _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "memberships", _id(),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        _project(),
        sa.Column("role", sa.String(20), nullable=False),
        sa.UniqueConstraint("user_id", "project_id"),
    )
    op.create_table(
        "api_tokens", _id(), _project(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_table(
        "web_sessions", _id(),
        sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "scans", _id(), _project(),
        sa.Column("report_fingerprint", sa.String(80), nullable=False),
        sa.Column("image_digest", sa.String(100), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("image_name", sa.String(500), nullable=False),
        sa.Column("tag", sa.String(200), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("risk_level", sa.String(20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("packages", sa.Integer(), nullable=False),
        sa.Column("vulnerabilities", sa.Integer(), nullable=False),
        sa.Column("malware", sa.Integer(), nullable=False),
        sa.Column("secrets", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.UniqueConstraint("project_id", "report_fingerprint", "image_digest",
                            name="uq_scans_report"),
    )
    op.create_index("ix_scans_project_uploaded", "scans", ["project_id", "uploaded_at"])
    op.create_index("ix_scans_image", "scans", ["project_id", "image_name", "tag"])
    op.create_table(
        "findings", _id(),
        sa.Column("scan_id", sa.Integer(), sa.ForeignKey("scans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("finding_id", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("package", sa.Text(), nullable=True),
        sa.Column("kev", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_findings_scan", "findings", ["scan_id"])
    op.create_index("ix_findings_id", "findings", ["finding_id"])
    op.create_table(
        "suppressions", _id(), _project(),
        sa.Column("rule", sa.String(20), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("suppressions", "findings", "scans", "web_sessions", "api_tokens",
                  "memberships", "users", "projects"):
        op.drop_table(table)
