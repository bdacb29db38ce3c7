"""dataset versions, the frozen test set, model lineage, change-log indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("manifest", sa.String(length=64), nullable=False),
        sa.Column("manifest_bytes", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("summary", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint("label", name=op.f("uq_versions_label")),
    )
    op.create_table(
        "frozen_test",
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("frozen_at", Stamp, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_frozen_test_sample_id_samples"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_frozen_test")),
    )
    op.create_table(
        "trained_models",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("train_split", sa.String(length=16), nullable=False),
        sa.Column("registered_at", Stamp, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=True),
        sa.Column("metrics", Json, nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.ForeignKeyConstraint(["version"], ["versions.label"], name=op.f("fk_trained_models_version_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trained_models")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_trained_models_name")),
    )
    with op.batch_alter_table("trained_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trained_models_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_trained_models_version"), ["version"], unique=False)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_target", ["target"], unique=False)
        batch_op.create_index("ix_events_action", ["action"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_action")
        batch_op.drop_index("ix_events_target")
    with op.batch_alter_table("trained_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trained_models_version"))
        batch_op.drop_index(batch_op.f("ix_trained_models_name"))
    op.drop_table("trained_models")
    op.drop_table("frozen_test")
    op.drop_table("versions")
