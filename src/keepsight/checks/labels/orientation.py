"""labels.orientation: rotated boxes whose angles contradict the class's orientation rule.

* ``directed`` class (the object has a head, e.g. an arrow or a connector): the head is marked by the
  box's angle over the full turn. When all angles stay within one half-turn although the objects do
  turn, the annotation tool (or a conversion) folded the angle, and the head was never marked.
* ``none`` class (round holes, blobs): a rotation means nothing, yet the boxes are rotated; trainers of
  oriented detectors then chase an angle that does not exist.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from keepsight.checks._regions import box_evidence
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import RotatedBox


class OrientationParams(CheckParams):
    """``min_boxes`` 12: if heads were marked and pointed at random, all n angles would fall within one
    half-turn with probability n / 2^(n-1), 0.6% for 12 boxes, so fewer boxes say too little.
    ``min_spread`` 90°: parts that all face one way (a conveyor) give a narrow band of angles legitimately;
    a folded angle shows as a spread over most of a half-turn that never crosses it.
    ``axis_tolerance`` 1°: on a ``none`` class, angles this close to a multiple of 90° are plain boxes."""

    min_boxes: int = Field(12, ge=2, description="rotated boxes of a directed class needed to judge it")
    min_spread: float = Field(90.0, ge=0, lt=180, description="degrees the angles must spread over to be judged")
    axis_tolerance: float = Field(1.0, ge=0, lt=45, description="degrees from a multiple of 90 counted as unrotated")


def covering_arc(angles: np.ndarray) -> tuple[float, float]:
    """(start, width) of the shortest arc of the circle holding every angle (degrees)."""
    a = np.sort(np.mod(angles, 360.0))
    gaps = np.append(np.diff(a), 360.0 - a[-1] + a[0])
    widest = int(np.argmax(gaps))
    start = a[(widest + 1) % len(a)]
    return float(start), float(360.0 - gaps[widest])


class Orientation(Check):
    id = "labels.orientation"
    title = "Rotated boxes that contradict the class's orientation"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "mark the head (angle over 0-360°) in a tool that keeps it, or fix the class's orientation in labelbook.yaml"
    Params = OrientationParams
    params: OrientationParams

    def run(self, ctx: AuditContext) -> CheckResult:
        by_class: dict[str, list[tuple[Sample, Annotation]]] = {}
        for s in ctx.samples:
            for a in ctx.regions(s.id):
                if isinstance(a.geometry, RotatedBox):
                    by_class.setdefault(a.label, []).append((s, a))
        if not by_class:
            raise Skip("no rotated boxes")
        findings: list[Finding] = []
        judged = 0
        for label, hits in sorted(by_class.items()):
            spec = ctx.labelbook.classes.get(label)
            orientation = spec.orientation if spec is not None else "axial"
            angles = np.array([a.geometry.angle for _, a in hits])  # type: ignore[union-attr]
            if orientation == "directed" and len(hits) >= self.params.min_boxes:
                judged += 1
                start, width = covering_arc(angles)
                if self.params.min_spread <= width < 180.0:
                    findings.append(self._finding(
                        f"class {label!r} is directed, but the angles of its {len(hits)} rotated boxes all lie within "
                        f"{width:.0f}° ({start:.0f}° to {(start + width) % 360:.0f}°): the head was never marked",
                        label, hits, score=1.0 - width / 180.0,
                        evidence={"orientation": "directed", "arc_start": round(start, 1), "arc_width": round(width, 1),
                                  "histogram_30deg": np.histogram(np.mod(angles, 360), bins=12, range=(0, 360))[0]
                                  .tolist()},
                    ))
            elif orientation == "none":
                off_axis = np.abs((angles + 45.0) % 90.0 - 45.0) > self.params.axis_tolerance
                rotated = [h for h, off in zip(hits, off_axis, strict=True) if off]
                if rotated:
                    findings.append(self._finding(
                        f"class {label!r} has no orientation, yet {len(rotated)} of its boxes are rotated",
                        label, rotated, severity="info", score=len(rotated) / len(hits),
                        evidence={"orientation": "none", "rotated": len(rotated), "rotated_boxes": len(hits)},
                        action="draw the class with axis-aligned boxes, or set its orientation to axial",
                    ))
        return self.result(findings, rotated_classes=len(by_class), directed_classes_judged=judged)

    def _finding(self, message: str, label: str, hits: list[tuple[Sample, Annotation]], *, score: float,
                 evidence: dict[str, Any], severity: Severity | None = None, action: str | None = None) -> Finding:
        samples = sorted({s.id: s for s, _ in hits}.values(), key=lambda s: s.path)
        return self.finding(message, severity=severity, samples=[s.id for s in samples],
                            paths=[s.path for s in samples], annotations=[a.uid or "" for _, a in hits], label=label,
                            score=score, evidence={**evidence, **box_evidence(hits)}, action=action or self.action)
