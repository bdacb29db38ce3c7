"""The catalog schema (SQLAlchemy Core). Change it only together with an Alembic migration."""

# No `from __future__ import annotations` here: the `annotations` table below would be
# typed as that __future__ feature by mypy in every module that imports it.

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = JSON().with_variant(JSONB(), "postgresql")
Stamp = DateTime(timezone=True)

blobs = Table(
    "blobs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Stamp, nullable=False),
    Column("import_id", Integer, nullable=True),  # the import that first stored it
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("source", Text, nullable=False),
    Column("format", String(64), nullable=False),
    Column("options", Json, nullable=False),
    Column("status", String(16), nullable=False),  # running | committed | failed
    Column("author", String(128), nullable=True),
    Column("started_at", Stamp, nullable=False),
    Column("finished_at", Stamp, nullable=True),
    Column("counts", Json, nullable=False),
)

samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False, unique=True),
    Column("blob", String(64), ForeignKey("blobs.digest"), nullable=False, index=True),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("split", String(16), nullable=False, default="unassigned"),
    Column("verdict", String(2), nullable=True),
    Column("status", String(16), nullable=False),  # staged | active | removed
    Column("meta", Json, nullable=False),
    Column("import_id", Integer, ForeignKey("import_runs.id"), nullable=True, index=True),
    Column("created_at", Stamp, nullable=False),
    Column("removed_by", String(128), nullable=True),
    Column("removed_at", Stamp, nullable=True),
    Column("removed_reason", Text, nullable=True),
)
Index("ix_samples_status_split", samples.c.status, samples.c.split)

annotations = Table(
    "annotations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(32), nullable=False, unique=True),
    Column("sample_id", Integer, ForeignKey("samples.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("label", Text, nullable=False, index=True),
    Column("geometry", Json, nullable=True),
    Column("attributes", Json, nullable=False),
    Column("author", String(128), nullable=True),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)

annotation_revisions = Table(
    "annotation_revisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("annotation_uid", String(32), nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("action", String(16), nullable=False),  # create | update | delete
    Column("kind", String(16), nullable=False),
    Column("label", Text, nullable=False),
    Column("geometry", Json, nullable=True),
    Column("attributes", Json, nullable=False),
    Column("author", String(128), nullable=True),
    Column("reason", Text, nullable=True),
    Column("changed_at", Stamp, nullable=False),
)

classes = Table(
    "classes",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("spec", Json, nullable=False),
)

problems = Table(
    "problems",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("import_runs.id"), nullable=False, index=True),
    Column("path", Text, nullable=True),
    Column("element", Text, nullable=True),
    Column("code", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Stamp, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Stamp, nullable=False, index=True),
    Column("actor", String(128), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("details", Json, nullable=False),
)

# Scalar image statistics of the describe stage, keyed by blob digest (the .npz files hold the rest).
descriptor_stats = Table(
    "descriptor_stats",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("brightness", Float, nullable=False),
    Column("p1", Float, nullable=False),
    Column("p5", Float, nullable=False),
    Column("p50", Float, nullable=False),
    Column("p95", Float, nullable=False),
    Column("p99", Float, nullable=False),
    Column("contrast", Float, nullable=False),
    Column("sharpness", Float, nullable=False),
    Column("noise", Float, nullable=False),
    Column("colourfulness", Float, nullable=False),
    Column("phash", BigInteger, nullable=False),  # stored signed (two's complement) to fit BIGINT
    Column("dhash", BigInteger, nullable=False),
    Column("keypoints", Integer, nullable=False),
)

# Every analysis (audit, learning curve, drift check) is a saved run: config -> results.
# The row is the index; the results themselves are files under .keepsight/runs/<kind>/<id>/.
runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False, index=True),  # audit | curve | drift | ...
    Column("status", String(16), nullable=False),  # running | done | failed
    Column("actor", String(128), nullable=True),
    Column("started_at", Stamp, nullable=False),
    Column("finished_at", Stamp, nullable=True),
    Column("keepsight_version", String(32), nullable=False),
    Column("dataset_version", String(64), nullable=True),  # the dataset version analysed, when known
    Column("fingerprint", String(64), nullable=False, index=True),  # of the inputs: same inputs, same fingerprint
    Column("config", Json, nullable=False),
    Column("summary", Json, nullable=False),
)

# Dataset versions: immutable snapshots. The manifest (samples with their blob digests, annotation
# revisions, splits, the frozen test set and the label book) is gzip JSON in the blob store; rows index it.
versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", String(32), nullable=False, unique=True),  # v1, v2, ...
    Column("message", Text, nullable=False),
    Column("actor", String(128), nullable=True),
    Column("created_at", Stamp, nullable=False),
    Column("manifest", String(64), nullable=False),  # sha256 of the compressed manifest in the blob store
    Column("manifest_bytes", BigInteger, nullable=False),
    Column("samples", Integer, nullable=False),
    Column("summary", Json, nullable=False),  # samples per split, annotations, classes
)

# The frozen test set: samples no split may move; they leave only by an explicit, recorded action.
frozen_test = Table(
    "frozen_test",
    metadata,
    Column("sample_id", Integer, ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True),
    Column("frozen_at", Stamp, nullable=False),
    Column("actor", String(128), nullable=True),
    Column("reason", Text, nullable=True),
)

# Lineage: which dataset version, and which of its splits, a model was trained on.
trained_models = Table(
    "trained_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, index=True),
    Column("version", String(32), ForeignKey("versions.label"), nullable=False, index=True),
    Column("train_split", String(16), nullable=False),
    Column("registered_at", Stamp, nullable=False),
    Column("actor", String(128), nullable=True),
    Column("metrics", Json, nullable=False),
    Column("details", Json, nullable=False),  # samples per split of the version, the metrics file
    UniqueConstraint("name", "version"),
)
# The change log is read by sample (target) and by action.
Index("ix_events_target", events.c.target)
Index("ix_events_action", events.c.action)

# -- The team service (keepsight serve): accounts, work distribution, review, consensus, transfers ----------
# Migration 0006. Drafts are each annotator's own copy of an image's annotations (blind until merged);
# the catalog's annotations change only when a reviewer accepts a draft or a consensus is merged.
svc_users = Table(
    "svc_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),  # argon2id; None = an account that signs in by API token only
    Column("active", Boolean, nullable=False),
    Column("created_at", Stamp, nullable=False),
)

svc_memberships = Table(
    "svc_memberships",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("svc_users.id", ondelete="CASCADE"), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("role", String(16), nullable=False),  # admin | manager | reviewer | annotator | viewer
    Column("created_at", Stamp, nullable=False),
    UniqueConstraint("user_id", "dataset"),
)

svc_api_tokens = Table(
    "svc_api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("svc_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),  # session (from a password login) | api
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token; the token is never stored
    Column("created_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=True),
    Column("last_used_at", Stamp, nullable=True),
    Column("revoked", Boolean, nullable=False),
)

svc_tasks = Table(
    "svc_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("query", Json, nullable=False),  # how the images were chosen
    Column("job_size", Integer, nullable=False),
    Column("consensus_share", Float, nullable=False),
    Column("consensus_annotators", Integer, nullable=False),
    Column("gold_per_job", Integer, nullable=False),
    Column("deadline", Stamp, nullable=True),
    Column("state", String(16), nullable=False),  # open | closed
    Column("created_by", String(128), nullable=True),
    Column("created_at", Stamp, nullable=False),
)

svc_jobs = Table(
    "svc_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("svc_tasks.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("assignee_id", Integer, ForeignKey("svc_users.id"), nullable=True, index=True),
    Column("state", String(16), nullable=False),  # new | in_progress | submitted | accepted | rejected
    Column("deadline", Stamp, nullable=True),
    Column("comment", Text, nullable=True),  # the reviewer's comment on the last rejection
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    Column("submitted_at", Stamp, nullable=True),
    Column("reviewed_by", String(128), nullable=True),
    Column("reviewed_at", Stamp, nullable=True),
)

svc_job_items = Table(
    "svc_job_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("svc_jobs.id"), nullable=False, index=True),
    Column("sample_id", Integer, ForeignKey("samples.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # normal | consensus | gold (never shown to the annotator)
    Column("review", String(16), nullable=False),  # pending | accepted | rejected | gold (scored, not reviewed)
    Column("review_comment", Text, nullable=True),
    Column("gold_score", Float, nullable=True),
    Column("committed_at", Stamp, nullable=True),  # when the accepted draft entered the catalog
    UniqueConstraint("job_id", "sample_id"),
)

svc_drafts = Table(
    "svc_drafts",
    metadata,
    Column("item_id", Integer, ForeignKey("svc_job_items.id", ondelete="CASCADE"), primary_key=True),
    Column("annotations", Json, nullable=False),  # the annotator's work copy
    Column("base", Json, nullable=False),  # the catalog annotations it started from, for the three-way commit
    Column("revision", Integer, nullable=False),
    Column("updated_by", String(128), nullable=True),
    Column("updated_at", Stamp, nullable=False),
)

svc_reviews = Table(
    "svc_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("svc_jobs.id"), nullable=False, index=True),
    Column("item_id", Integer, ForeignKey("svc_job_items.id"), nullable=True, index=True),  # None = the whole job
    Column("reviewer", String(128), nullable=False),
    Column("decision", String(16), nullable=False),  # accept | reject
    Column("comment", Text, nullable=True),
    Column("at", Stamp, nullable=False),
)

svc_consensus = Table(
    "svc_consensus",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("svc_tasks.id"), nullable=False, index=True),
    Column("sample_id", Integer, ForeignKey("samples.id"), nullable=False),
    Column("copies", Integer, nullable=False),  # annotators who label it blind
    Column("state", String(16), nullable=False),  # open | merged
    Column("base", Json, nullable=False),  # the catalog annotations when the task was made
    Column("result", Json, nullable=True),  # the merged annotations
    Column("merged_by", String(128), nullable=True),
    Column("merged_at", Stamp, nullable=True),
    UniqueConstraint("task_id", "sample_id"),
)

svc_gold = Table(
    "svc_gold",
    metadata,
    Column("sample_id", Integer, ForeignKey("samples.id"), primary_key=True),
    Column("annotations", Json, nullable=False),  # the known answer
    Column("updated_by", String(128), nullable=True),
    Column("updated_at", Stamp, nullable=False),
)

svc_class_examples = Table(
    "svc_class_examples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_name", Text, nullable=False, index=True),
    Column("sample_id", Integer, ForeignKey("samples.id"), nullable=False),
    Column("counter", Boolean, nullable=False),  # True = a counter-example: what the class is not
    Column("note", Text, nullable=False),
    Column("added_by", String(128), nullable=True),
    Column("added_at", Stamp, nullable=False),
    UniqueConstraint("class_name", "sample_id"),
)

svc_uploads = Table(
    "svc_uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("svc_users.id"), nullable=False, index=True),
    Column("filename", Text, nullable=False),
    Column("length", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),  # the tus Upload-Offset
    Column("sha256", String(64), nullable=False),  # of the whole file, declared by the client
    Column("meta", Json, nullable=False),
    Column("state", String(16), nullable=False),  # receiving | imported | failed
    Column("result", Json, nullable=True),  # the import report
    Column("error", Text, nullable=True),
    Column("created_at", Stamp, nullable=False),
    Column("updated_at", Stamp, nullable=False),
    Column("expires_at", Stamp, nullable=False),
)

svc_exports = Table(
    "svc_exports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("format", String(64), nullable=False),
    Column("options", Json, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("report", Json, nullable=False),
    Column("created_by", String(128), nullable=True),
    Column("created_at", Stamp, nullable=False),
)

# Failed sign-ins, kept in the catalog so every worker process of `keepsight serve` counts
# the same failures; rows older than the throttle's window are pruned as new ones arrive.
svc_login_failures = Table(
    "svc_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),  # user | address
    Column("key", String(256), nullable=False),  # the case-folded user name, or the client address
    Column("at", Float, nullable=False),  # seconds since the epoch (wall clock: shared by the workers)
    Index("ix_svc_login_failures_kind_key_at", "kind", "key", "at"),
)

# Who did what through the service; append-only (triggers refuse UPDATE and DELETE).
svc_audit_log = Table(
    "svc_audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Stamp, nullable=False, index=True),
    Column("user_name", String(128), nullable=True),
    Column("role", String(16), nullable=True),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("details", Json, nullable=False),
)
