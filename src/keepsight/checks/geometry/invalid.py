"""geometry.invalid: regions that cannot mean what they draw.

Two sources. The importer refuses geometry it cannot store (NaN, x2 < x1, too few vertices, a region
mostly outside the image, a mask of the wrong size) and records it as a problem (code ``annotation``);
and the catalog holds geometry that is valid to store but degenerate: zero or negative size,
self-intersecting or collapsed polygons, empty masks, and regions that stick out of the image (the
importer keeps a region that is mostly inside, so it is reported here).
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np
import shapely
from pydantic import Field
from shapely.validation import explain_validity

from keepsight.checks._problems import import_sources, relative_path
from keepsight.checks._regions import box_of
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import Box, Mask, Points, Polygon, Polyline, RotatedBox

# Import problems that concern geometry, told apart from class, split and structure problems by wording.
_GEOMETRY_WORDS = re.compile(
    r"coordinat|NaN|infinite|x2 < x1|vertices|corners|negative|empty size|bbox|<bndbox>|\bbox\b|polygon|polyline|"
    r"points|mask|RLE|out of the|segm|circle|oriented box|rotated box|geometry",
    re.IGNORECASE,
)
_NOT_GEOMETRY = re.compile(r"not declared|not a declared|unknown split|unknown verdict|listed more than once|"
                           r"class id|class index|has no label|no <name>|no name", re.IGNORECASE)


class InvalidParams(CheckParams):
    """Defaults: ``min_side`` 1 px: a box thinner than one pixel covers no whole pixel, so a trainer sees
    nothing (annotation tools make them from stray clicks). ``min_area`` 1 px² for polygons and masks, for the
    same reason. ``outside_tolerance`` 1 px, the importer's own slack (``ingest.out_of_image_tolerance``):
    sub-pixel overshoot is rounding, more is a region that a trainer will clip."""

    min_side: float = Field(1.0, ge=0, description="boxes and rotated boxes thinner than this (px) are degenerate")
    min_area: float = Field(1.0, ge=0, description="polygons and masks smaller than this (px²) are degenerate")
    outside_tolerance: float = Field(1.0, ge=0, description="px a region may stick out of the image unreported")
    import_problems: bool = Field(True, description="report geometry the importer refused")


def geometry_problem(reason: str, element: str | None) -> bool:
    text = f"{element or ''} {reason}"
    return bool(_GEOMETRY_WORDS.search(text)) and not _NOT_GEOMETRY.search(reason)


def _side_problem(w: float, h: float, min_side: float) -> str | None:
    if w <= 0 or h <= 0:
        return f"zero size ({w:g} x {h:g} px)"
    if min(w, h) < min_side:
        return f"thinner than {min_side:g} px ({w:.2f} x {h:.2f} px)"
    return None


def degenerate(annotation: Annotation, params: InvalidParams) -> str | None:
    """Why the stored geometry is degenerate, or None when it is sound."""
    g = annotation.geometry
    if isinstance(g, Box):
        return _side_problem(g.x2 - g.x1, g.y2 - g.y1, params.min_side)
    if isinstance(g, RotatedBox):
        return _side_problem(g.w, g.h, params.min_side)
    if isinstance(g, Polygon):
        arr = g.array()
        if len(np.unique(arr, axis=0)) < 3:
            return f"polygon with fewer than 3 distinct vertices ({len(arr)} given)"
        shape = shapely.Polygon(arr)
        if not shape.is_valid:
            return f"self-intersecting polygon ({explain_validity(shape)})"
        if shape.area < params.min_area:
            return f"collapsed polygon (area {shape.area:.2f} px²)"
        return None
    if isinstance(g, Polyline):
        arr = g.array()
        length = float(np.hypot(*np.diff(arr, axis=0).T).sum())
        return f"polyline of zero length ({len(arr)} identical vertices)" if length == 0 else None
    if isinstance(g, Mask):
        area = g.area()
        if area == 0:
            return "empty mask (no foreground pixel)"
        return f"mask of {area} px, under {params.min_area:g} px²" if area < params.min_area else None
    return None


def overshoot(annotation: Annotation, sample: Sample) -> float:
    """How far (px) the region reaches outside the ``width x height`` image; 0 when it lies on it."""
    g = annotation.geometry
    if isinstance(g, Mask):
        return 0.0  # full-image masks cannot leave the image; the importer checks their size
    if isinstance(g, Points):
        arr = g.array()
        x1, y1, x2, y2 = arr[:, 0].min(), arr[:, 1].min(), arr[:, 0].max(), arr[:, 1].max()
    else:
        bounds = g.bounds()
        if bounds is None:
            return 0.0
        x1, y1, x2, y2 = bounds
    return float(max(0.0, -x1, -y1, x2 - sample.width, y2 - sample.height))


class InvalidGeometry(Check):
    id = "geometry.invalid"
    title = "Invalid or degenerate geometry"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "problems"})
    action = "redraw the region (or delete it) in the annotation tool, then re-import"
    Params = InvalidParams
    params: InvalidParams

    def run(self, ctx: AuditContext) -> CheckResult:
        findings: list[Finding] = []
        if self.params.import_problems:
            findings += self._refused(ctx)
        refused = len(findings)
        degenerate_count = outside_count = 0
        for s in ctx.samples:
            bad: list[tuple[Annotation, str]] = []
            outside: list[tuple[Annotation, float]] = []
            for a in ctx.regions(s.id):
                why = degenerate(a, self.params)
                if why is not None:
                    bad.append((a, why))
                    continue
                over = overshoot(a, s)
                if over > self.params.outside_tolerance:
                    outside.append((a, over))
            if bad:
                degenerate_count += len(bad)
                findings.append(self.finding(
                    f"{len(bad)} degenerate region(s): " + "; ".join(f"{a.label}: {why}" for a, why in bad[:5]),
                    samples=[s.id], paths=[s.path], annotations=[a.uid or "" for a, _ in bad], split=s.split,
                    label=_one_label([a for a, _ in bad]), score=float(len(bad)),
                    evidence={"boxes": _boxes([a for a, _ in bad]), "reasons": [why for _, why in bad]},
                ))
            if outside:
                outside_count += len(outside)
                worst = max(over for _, over in outside)
                findings.append(self.finding(
                    f"{len(outside)} region(s) reach outside the {s.width}x{s.height} image, by up to {worst:.1f} px",
                    severity="warning", samples=[s.id], paths=[s.path], annotations=[a.uid or "" for a, _ in outside],
                    split=s.split, label=_one_label([a for a, _ in outside]), score=worst,
                    evidence={"boxes": _boxes([a for a, _ in outside]),
                              "overshoot_px": [round(o, 1) for _, o in outside],
                              "image_size": [s.width, s.height], "tolerance_px": self.params.outside_tolerance},
                    action="clip the region to the image, or check the coordinate system of the export",
                ))
        return self.result(findings, refused_at_import=refused, degenerate_regions=degenerate_count,
                           regions_outside=outside_count)

    def _refused(self, ctx: AuditContext) -> list[Finding]:
        out: list[Finding] = []
        sources = import_sources(ctx)
        for problem in ctx.problems:
            reason, element = str(problem["reason"]), problem["element"]
            if problem["code"] != "annotation" or not geometry_problem(reason, element):
                continue
            where = f" ({element})" if element else ""
            evidence: dict[str, Any] = {"reason": reason, "element": element, "import": problem["import_id"]}
            out.append(self.finding(
                f"the importer refused a region{where}: {reason}",
                paths=[relative_path(problem["path"], sources.get(problem["import_id"]))], score=1.0, evidence=evidence,
                action="fix the coordinates in the annotation file and re-import; the region is not in the dataset",
            ))
        return out


def _boxes(annotations: list[Annotation]) -> list[list[float]]:
    out = []
    for a in annotations:
        box = box_of(a)
        if box is not None and all(math.isfinite(v) for v in box):
            out.append(box)
    return out


def _one_label(annotations: list[Annotation]) -> str | None:
    labels = {a.label for a in annotations}
    return labels.pop() if len(labels) == 1 else None
