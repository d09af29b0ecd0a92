"""A policy per project: YAML text (docs/policy.md) the CLI applies to the project's scans."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("policy", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "policy")
