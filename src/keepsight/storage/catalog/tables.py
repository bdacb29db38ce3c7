"""The catalog schema (SQLAlchemy Core). Change it only together with an Alembic migration."""

from __future__ import annotations

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
