"""image.markings: arrows, circles, boxes or text drawn onto the image by an annotator.

A model trained on images carrying a red ring around every defect learns the ring. Compute:
candidate strokes (``_markings_strokes``: pure-hue pixels far more colourful than the image,
near-white or near-black thin structures); score: every stroke's drawn-ness (``_markings_shapes``:
thin, long, contrasting, one constant colour, sharp-edged, not a straight streak or a cloud of
specks; on binarised images such as PCB scans, only white or black strokes that break the
layout's Manhattan geometry (``_markings_binary``): long chains of edges at other angles, chains
on one ellipse, arrow tips, drawn rectangles); threshold:
``min_score``. Each image with a
marking is one finding; the evidence lists each marking's box (original pixels), shape, colour
and score for the report to draw. Measured on real images with planted marks in
benchmarks/bench_markings.py (see docs/checks_learned.md).
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, cast

import numpy as np
from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.image._markings_shapes import find_markings
from keepsight.checks.image._markings_strokes import WORK_SIDE
from keepsight.checks.image._pixel_scan import scan


class MarkingsParams(CheckParams):
    min_score: float = Field(0.5, gt=0.0, le=1.0, description="how drawn a stroke must look (0..1) to be reported")
    workers: int = Field(0, ge=0, description="worker processes decoding images (0 = one per core)")


def markings_analysis(image: np.ndarray, *, min_score: float = 0.5) -> list[dict[str, Any]]:
    """The markings on one decoded image, as JSON-safe dicts (module level: runs in worker processes)."""
    return [{"box": list(m.box), "kind": m.kind, "colour": m.colour, "score": m.score, **m.measures}
            for m in find_markings(image, min_score=min_score)]


class Markings(Check):
    id = "image.markings"
    title = "Marks drawn onto images"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "images"})
    action = "replace the image with an unmarked original, or remove it from training"
    Params = MarkingsParams

    def run(self, ctx: AuditContext) -> CheckResult:
        p = cast(MarkingsParams, self.params)
        findings: list[Finding] = []
        scanned = undecodable = 0
        analysis = partial(markings_analysis, min_score=p.min_score)
        for samples, marks in scan(ctx, analysis, work_side=WORK_SIDE, workers=p.workers):
            scanned += 1
            if marks is None:
                undecodable += 1
                continue
            if not marks:
                continue
            best = max(marks, key=lambda m: m["score"])
            names = ", ".join(sorted({f"{m['colour']} {m['kind']}" for m in marks}))
            for s in samples:
                findings.append(self.finding(
                    f"{len(marks)} mark(s) drawn on the image: {names}",
                    samples=[s.id], paths=[s.path], split=s.split, score=float(best["score"]),
                    evidence={"box": best["box"], "markings": marks},
                ))
        return self.result(findings, images_scanned=scanned, images_marked=len(findings), undecodable=undecodable)
