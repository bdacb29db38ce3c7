"""labels.overlap_conflict: regions of different classes that cover the same area.

Two classes drawn on one spot are usually one defect labelled twice by two annotators, or a class
changed without deleting the old region. A detector then learns both classes for the same pixels.
"""

from __future__ import annotations

from typing import ClassVar

import shapely
from pydantic import Field, model_validator
from shapely.geometry.base import BaseGeometry

from keepsight.checks._regions import AREA_KINDS, box_evidence, shape_of
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Annotation


class OverlapParams(CheckParams):
    """``min_iou`` 0.5: at IoU 0.5 the PASCAL VOC and COCO matching rule already treats two regions as one
    object, so two classes above it claim the same object. ``min_containment`` (intersection over the smaller
    region) is off by default: a small class inside a large one (a chip on a component) is often meant;
    set e.g. 0.9 to report nesting too. ``allowed_pairs`` lists class pairs that may overlap."""

    min_iou: float = Field(0.5, gt=0, le=1, description="report pairs whose intersection over union reaches this")
    min_containment: float | None = Field(None, gt=0, le=1,
                                          description="also report pairs whose intersection over the smaller "
                                                      "region reaches this (None = off)")
    allowed_pairs: list[list[str]] = Field(default_factory=list, description="class pairs that may overlap")

    @model_validator(mode="after")
    def _pairs_of_two(self) -> OverlapParams:
        if any(len(p) != 2 for p in self.allowed_pairs):
            raise ValueError("allowed_pairs holds pairs of two class names, e.g. [['chip', 'component']]")
        return self


class OverlapConflict(Check):
    id = "labels.overlap_conflict"
    title = "Overlapping regions of different classes"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations"})
    action = "keep the region with the right class and delete the other (or list the pair in allowed_pairs)"
    Params = OverlapParams
    params: OverlapParams

    def run(self, ctx: AuditContext) -> CheckResult:
        allowed = {frozenset(p) for p in self.params.allowed_pairs}
        findings: list[Finding] = []
        has_areas = False
        for s in ctx.samples:
            regions = [a for a in ctx.regions(s.id) if a.kind in AREA_KINDS]
            has_areas = has_areas or bool(regions)
            if len({a.label for a in regions}) < 2:
                continue
            shapes = [shape_of(a) for a in regions]
            kept = [(a, g) for a, g in zip(regions, shapes, strict=True) if g is not None and g.area > 0]
            for (a, ga), (b, gb), iou, contained in self._conflicts(kept, allowed):
                findings.append(self.finding(
                    f"a {a.label!r} region and a {b.label!r} region cover the same area (IoU {iou:.2f}, "
                    f"{contained:.0%} of the smaller one)",
                    samples=[s.id], paths=[s.path], annotations=[a.uid or "", b.uid or ""], split=s.split,
                    score=iou, evidence={**box_evidence([(s, a), (s, b)]), "iou": round(iou, 3),
                                         "containment": round(contained, 3), "classes": [a.label, b.label],
                                         "areas": [round(ga.area, 1), round(gb.area, 1)]},
                ))
        if not has_areas:
            raise Skip("no area regions (boxes, rotated boxes, polygons, masks) to compare")
        return self.result(findings, conflicting_pairs=len(findings))

    def _conflicts(
        self, kept: list[tuple[Annotation, BaseGeometry]], allowed: set[frozenset[str]]
    ) -> list[tuple[tuple[Annotation, BaseGeometry], tuple[Annotation, BaseGeometry], float, float]]:
        if len(kept) < 2:
            return []
        tree = shapely.STRtree([g for _, g in kept])
        left, right = tree.query([g for _, g in kept], predicate="intersects")
        out = []
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            (a, ga), (b, gb) = kept[i], kept[j]
            if i >= j or a.label == b.label or frozenset((a.label, b.label)) in allowed:
                continue
            inter = ga.intersection(gb).area
            union = ga.area + gb.area - inter
            iou = inter / union if union > 0 else 0.0
            contained = inter / min(ga.area, gb.area)
            floor = self.params.min_containment
            if iou >= self.params.min_iou or (floor is not None and contained >= floor):
                out.append(((a, ga), (b, gb), iou, contained))
        return out
