"""failed sign-ins in the catalog, shared by every worker process of the service

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "svc_login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_login_failures")),
    )
    op.create_index("ix_svc_login_failures_kind_key_at", "svc_login_failures", ["kind", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_svc_login_failures_kind_key_at", table_name="svc_login_failures")
    op.drop_table("svc_login_failures")
