"""the team service: users, tokens, memberships, tasks, jobs, drafts, reviews, consensus, gold, uploads, exports, audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)

_APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER svc_audit_log_no_update BEFORE UPDATE ON svc_audit_log "
    "BEGIN SELECT RAISE(ABORT, 'svc_audit_log is append-only'); END",
    "CREATE TRIGGER svc_audit_log_no_delete BEFORE DELETE ON svc_audit_log "
    "BEGIN SELECT RAISE(ABORT, 'svc_audit_log is append-only'); END",
]
_APPEND_ONLY_POSTGRESQL = [
    "CREATE FUNCTION svc_audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'svc_audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER svc_audit_log_append_only BEFORE UPDATE OR DELETE ON svc_audit_log "
    "FOR EACH ROW EXECUTE FUNCTION svc_audit_log_append_only()",
]


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def upgrade() -> None:
    op.create_table(
        "svc_users",
        _id(),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_users")),
        sa.UniqueConstraint("name", name=op.f("uq_svc_users_name")),
    )
    op.create_table(
        "svc_memberships",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["svc_users.id"], name=op.f("fk_svc_memberships_user_id_svc_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_memberships")),
        sa.UniqueConstraint("user_id", "dataset", name=op.f("uq_svc_memberships_user_id")),
    )
    op.create_table(
        "svc_api_tokens",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=True),
        sa.Column("last_used_at", Stamp, nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["svc_users.id"], name=op.f("fk_svc_api_tokens_user_id_svc_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_svc_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_svc_api_tokens_user_id"), "svc_api_tokens", ["user_id"])
    op.create_table(
        "svc_tasks",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("query", Json, nullable=False),
        sa.Column("job_size", sa.Integer(), nullable=False),
        sa.Column("consensus_share", sa.Float(), nullable=False),
        sa.Column("consensus_annotators", sa.Integer(), nullable=False),
        sa.Column("gold_per_job", sa.Integer(), nullable=False),
        sa.Column("deadline", Stamp, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_tasks")),
    )
    op.create_table(
        "svc_jobs",
        _id(),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deadline", Stamp, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("submitted_at", Stamp, nullable=True),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.Column("reviewed_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["svc_tasks.id"], name=op.f("fk_svc_jobs_task_id_svc_tasks")),
        sa.ForeignKeyConstraint(["assignee_id"], ["svc_users.id"], name=op.f("fk_svc_jobs_assignee_id_svc_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_jobs")),
    )
    op.create_index(op.f("ix_svc_jobs_task_id"), "svc_jobs", ["task_id"])
    op.create_index(op.f("ix_svc_jobs_assignee_id"), "svc_jobs", ["assignee_id"])
    op.create_table(
        "svc_job_items",
        _id(),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("review", sa.String(length=16), nullable=False),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("gold_score", sa.Float(), nullable=True),
        sa.Column("committed_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["svc_jobs.id"], name=op.f("fk_svc_job_items_job_id_svc_jobs")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_svc_job_items_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_job_items")),
        sa.UniqueConstraint("job_id", "sample_id", name=op.f("uq_svc_job_items_job_id")),
    )
    op.create_index(op.f("ix_svc_job_items_job_id"), "svc_job_items", ["job_id"])
    op.create_index(op.f("ix_svc_job_items_sample_id"), "svc_job_items", ["sample_id"])
    op.create_table(
        "svc_drafts",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("annotations", Json, nullable=False),
        sa.Column("base", Json, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["svc_job_items.id"], name=op.f("fk_svc_drafts_item_id_svc_job_items"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_svc_drafts")),
    )
    op.create_table(
        "svc_reviews",
        _id(),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["svc_jobs.id"], name=op.f("fk_svc_reviews_job_id_svc_jobs")),
        sa.ForeignKeyConstraint(["item_id"], ["svc_job_items.id"], name=op.f("fk_svc_reviews_item_id_svc_job_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_reviews")),
    )
    op.create_index(op.f("ix_svc_reviews_job_id"), "svc_reviews", ["job_id"])
    op.create_index(op.f("ix_svc_reviews_item_id"), "svc_reviews", ["item_id"])
    op.create_table(
        "svc_consensus",
        _id(),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("base", Json, nullable=False),
        sa.Column("result", Json, nullable=True),
        sa.Column("merged_by", sa.String(length=128), nullable=True),
        sa.Column("merged_at", Stamp, nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["svc_tasks.id"], name=op.f("fk_svc_consensus_task_id_svc_tasks")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_svc_consensus_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_consensus")),
        sa.UniqueConstraint("task_id", "sample_id", name=op.f("uq_svc_consensus_task_id")),
    )
    op.create_index(op.f("ix_svc_consensus_task_id"), "svc_consensus", ["task_id"])
    op.create_table(
        "svc_gold",
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("annotations", Json, nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_svc_gold_sample_id_samples")),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_svc_gold")),
    )
    op.create_table(
        "svc_class_examples",
        _id(),
        sa.Column("class_name", sa.Text(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=True),
        sa.Column("added_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_svc_class_examples_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_class_examples")),
        sa.UniqueConstraint("class_name", "sample_id", name=op.f("uq_svc_class_examples_class_name")),
    )
    op.create_index(op.f("ix_svc_class_examples_class_name"), "svc_class_examples", ["class_name"])
    op.create_table(
        "svc_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("meta", Json, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", Json, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["svc_users.id"], name=op.f("fk_svc_uploads_user_id_svc_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_uploads")),
    )
    op.create_index(op.f("ix_svc_uploads_user_id"), "svc_uploads", ["user_id"])
    op.create_table(
        "svc_exports",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=64), nullable=False),
        sa.Column("options", Json, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("report", Json, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_exports")),
    )
    op.create_table(
        "svc_audit_log",
        _id(),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("details", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_audit_log")),
    )
    op.create_index(op.f("ix_svc_audit_log_at"), "svc_audit_log", ["at"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _APPEND_ONLY_SQLITE, "postgresql": _APPEND_ONLY_POSTGRESQL}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS svc_audit_log_append_only ON svc_audit_log")
        op.execute("DROP FUNCTION IF EXISTS svc_audit_log_append_only()")
    op.drop_index(op.f("ix_svc_audit_log_at"), table_name="svc_audit_log")
    op.drop_table("svc_audit_log")  # SQLite drops the table's triggers with it
    op.drop_table("svc_exports")
    op.drop_index(op.f("ix_svc_uploads_user_id"), table_name="svc_uploads")
    op.drop_table("svc_uploads")
    op.drop_index(op.f("ix_svc_class_examples_class_name"), table_name="svc_class_examples")
    op.drop_table("svc_class_examples")
    op.drop_table("svc_gold")
    op.drop_index(op.f("ix_svc_consensus_task_id"), table_name="svc_consensus")
    op.drop_table("svc_consensus")
    op.drop_index(op.f("ix_svc_reviews_item_id"), table_name="svc_reviews")
    op.drop_index(op.f("ix_svc_reviews_job_id"), table_name="svc_reviews")
    op.drop_table("svc_reviews")
    op.drop_table("svc_drafts")
    op.drop_index(op.f("ix_svc_job_items_sample_id"), table_name="svc_job_items")
    op.drop_index(op.f("ix_svc_job_items_job_id"), table_name="svc_job_items")
    op.drop_table("svc_job_items")
    op.drop_index(op.f("ix_svc_jobs_assignee_id"), table_name="svc_jobs")
    op.drop_index(op.f("ix_svc_jobs_task_id"), table_name="svc_jobs")
    op.drop_table("svc_jobs")
    op.drop_table("svc_tasks")
    op.drop_index(op.f("ix_svc_api_tokens_user_id"), table_name="svc_api_tokens")
    op.drop_table("svc_api_tokens")
    op.drop_table("svc_memberships")
    op.drop_table("svc_users")
