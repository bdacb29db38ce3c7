"""position.edge: regions within a margin of the image border.

A defect at the border is often cut off: only part of it is in the picture, random crops and tiling
drop it, and padding changes what the network sees around it. Such regions are not wrong, but worth a
look: a capture with more margin, or a note that the region is truncated.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._regions import box_evidence
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Annotation, Sample


class EdgeParams(CheckParams):
    """``margin``: at 1 or more, pixels; below 1, a fraction of the image's shorter side. Default 0.02 (2%:
    10 px on a 512 px image), about the jitter of a random crop and the border a network's padding
    disturbs. ``per_class`` overrides it, e.g. ``{"scratch": 32}`` for long defects that cross the border."""

    margin: float = Field(0.02, gt=0, description="px (>= 1) or fraction of the shorter side (< 1)")
    per_class: dict[str, float] = Field(default_factory=dict, description="margin per class name")


def margin_px(value: float, sample: Sample) -> float:
    return value if value >= 1 else value * min(sample.width, sample.height)


def sides_touched(annotation: Annotation, sample: Sample, margin: float) -> list[str]:
    bounds = annotation.geometry.bounds()
    if bounds is None:
        return []
    x1, y1, x2, y2 = bounds
    near = {"left": x1 < margin, "top": y1 < margin, "right": x2 > sample.width - margin,
            "bottom": y2 > sample.height - margin}
    return [side for side, hit in near.items() if hit]


class EdgeRegions(Check):
    id = "position.edge"
    title = "Regions at the image border"
    severity: ClassVar[Severity] = "info"
    inputs = frozenset({"samples", "annotations"})
    action = "check whether the defect is cut off; capture it with more margin, or mark the region as truncated"
    Params = EdgeParams
    params: EdgeParams

    def run(self, ctx: AuditContext) -> CheckResult:
        if not ctx.region_annotated:
            raise Skip("the dataset holds no regions")
        findings: list[Finding] = []
        per_class: dict[str, int] = {}
        for s in ctx.samples:
            hits: list[tuple[Annotation, list[str], float]] = []
            for a in ctx.regions(s.id):
                margin = margin_px(self.params.per_class.get(a.label, self.params.margin), s)
                sides = sides_touched(a, s, margin)
                if sides:
                    hits.append((a, sides, margin))
                    per_class[a.label] = per_class.get(a.label, 0) + 1
            if not hits:
                continue
            labels = sorted({a.label for a, _, _ in hits})
            sides = sorted({side for _, ss, _ in hits for side in ss})
            findings.append(self.finding(
                f"{len(hits)} region(s) ({', '.join(labels)}) lie within the border margin ({', '.join(sides)})",
                samples=[s.id], paths=[s.path], annotations=[a.uid or "" for a, _, _ in hits], split=s.split,
                label=labels[0] if len(labels) == 1 else None, score=float(len(hits)),
                evidence={**box_evidence([(s, a) for a, _, _ in hits]),
                          "margins_px": [round(m, 1) for _, _, m in hits], "sides": [ss for _, ss, _ in hits],
                          "image_size": [s.width, s.height]},
            ))
        return self.result(findings, edge_regions_per_class=per_class)
