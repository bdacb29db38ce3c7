"""Rows to model objects and back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping

from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import geometry_from_json


def now() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    return uuid.uuid4().hex


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything keepsight stores is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def sample_from_row(row: RowMapping) -> Sample:
    return Sample(
        id=row["id"], path=row["path"], blob=row["blob"], width=row["width"], height=row["height"],
        mode=row["mode"], format=row["format"], split=row["split"], verdict=row["verdict"],
        status=row["status"], metadata=dict(row["meta"] or {}), removed_by=row["removed_by"],
        removed_at=_aware(row["removed_at"]), removed_reason=row["removed_reason"],
    )


def annotation_from_row(row: RowMapping) -> Annotation:
    return Annotation(
        label=row["label"], geometry=geometry_from_json(row["kind"], row["geometry"]),
        attributes=dict(row["attributes"] or {}), uid=row["uid"], author=row["author"],
        created_at=_aware(row["created_at"]), updated_at=_aware(row["updated_at"]), revision=row["revision"],
    )


def annotation_values(sample_id: int, annotation: Annotation, *, author: str | None, at: datetime) -> dict[str, Any]:
    return {
        "uid": annotation.uid or new_uid(), "sample_id": sample_id, "kind": annotation.kind,
        "label": annotation.label, "geometry": annotation.geometry.to_json(),
        "attributes": dict(annotation.attributes), "author": annotation.author or author,
        "created_at": annotation.created_at or at, "updated_at": at, "revision": 1, "deleted": False,
    }
