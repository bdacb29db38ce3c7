"""Annotations and samples: the records everything else reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from keepsight.errors import AnnotationError
from keepsight.model.geometry import Geometry, Kind, geometry_from_json

Split = Literal["train", "val", "test", "unassigned"]
SPLITS: tuple[Split, ...] = ("train", "val", "test", "unassigned")
Verdict = Literal["OK", "NG"]
Status = Literal["staged", "active", "removed"]

_SPLIT_ALIASES = {
    "train": "train", "training": "train", "trainval": "train",
    "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "test": "test", "testing": "test",
    "unassigned": "unassigned", "": "unassigned", "default": "unassigned",
}


def normalize_split(name: str | None) -> Split:
    """Map the split names tools use (``Validation``, ``valid``...) onto keepsight's four."""
    if name is None:
        return "unassigned"
    key = name.strip().lower()
    if key not in _SPLIT_ALIASES:
        raise AnnotationError(f"unknown split {name!r}; expected one of {list(SPLITS)} (or train/valid/test aliases)")
    return _SPLIT_ALIASES[key]  # type: ignore[return-value]


def split_or_none(name: str | None) -> Split | None:
    """``normalize_split`` for names that may not be a split at all (folder or file names)."""
    try:
        return normalize_split(name) if name is not None else None
    except AnnotationError:
        return None


def verdict_or_none(name: str | None) -> Verdict | None:
    """``normalize_verdict`` for names that may not be a verdict (a class folder, say)."""
    try:
        return normalize_verdict(name)
    except AnnotationError:
        return None


def normalize_verdict(value: str | None) -> Verdict | None:
    if value is None:
        return None
    key = value.strip().upper()
    if key in {"OK", "GOOD", "PASS", "FREE", "NORMAL"}:
        return "OK"
    if key in {"NG", "BAD", "FAIL", "DEFECT", "NOK", "ANOMALY"}:
        return "NG"
    raise AnnotationError(f"unknown verdict {value!r}; expected OK or NG")


@dataclass(frozen=True)
class Annotation:
    """One annotation of one sample. Catalog-assigned fields are None until stored."""

    label: str
    geometry: Geometry
    attributes: dict[str, Any] = field(default_factory=dict)
    uid: str | None = None
    author: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise AnnotationError(f"an annotation needs a class name, got {self.label!r}")

    @property
    def kind(self) -> Kind:
        return self.geometry.kind

    def same_content(self, other: Annotation, *, tol: float = 1e-6) -> bool:
        """Equal class, kind, attributes and geometry (within ``tol`` pixels)."""
        if (self.label, self.kind, self.attributes) != (other.label, other.kind, other.attributes):
            return False
        return geometry_equal(self.geometry, other.geometry, tol=tol)


def geometry_equal(a: Geometry, b: Geometry, *, tol: float = 1e-6) -> bool:
    if a.kind != b.kind:
        return False
    ja, jb = a.to_json(), b.to_json()
    if isinstance(ja, list) and isinstance(jb, list):
        if len(ja) != len(jb):
            return False
        if a.kind == "rotated_box":
            *pa, anga = ja
            *pb, angb = jb
            dang = abs((anga - angb + 180.0) % 360.0 - 180.0)
            return all(abs(x - y) <= tol for x, y in zip(pa, pb, strict=True)) and dang <= tol * 10
        return all(abs(x - y) <= tol for x, y in zip(ja, jb, strict=True))
    return ja == jb


def annotation_from_json(kind: str, label: str, geometry: object, attributes: dict[str, Any] | None = None) -> Annotation:
    return Annotation(label=label, geometry=geometry_from_json(kind, geometry), attributes=dict(attributes or {}))


@dataclass(frozen=True)
class Sample:
    """An image in the catalog."""

    id: int
    path: str
    blob: str
    width: int
    height: int
    mode: str
    format: str
    split: Split = "unassigned"
    verdict: Verdict | None = None
    status: Status = "active"
    metadata: dict[str, Any] = field(default_factory=dict)
    removed_by: str | None = None
    removed_at: datetime | None = None
    removed_reason: str | None = None
