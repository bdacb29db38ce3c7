"""labels.ok_with_regions: images with verdict OK that carry defect regions.

The verdict and the regions contradict each other; one of them is wrong, and either way the image
teaches a classifier or an anomaly model the wrong thing.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._defects import defect_classes
from keepsight.checks._regions import box_evidence
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext


class OkWithRegionsParams(CheckParams):
    """``infer_defect_classes`` (default on): as in ``labels.ng_without_regions``, a class with an unknown
    ``is_defect`` that is drawn as a region counts as a defect. Classes marked ``is_defect: false`` (a
    fiducial, a label plate) never count."""

    infer_defect_classes: bool = Field(True, description="treat unknown classes drawn as regions as defects")


class OkWithRegions(Check):
    id = "labels.ok_with_regions"
    title = "Good images with defect regions"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "set the verdict to NG if the regions are right, or delete the regions if the part is good"
    Params = OkWithRegionsParams
    params: OkWithRegionsParams

    def run(self, ctx: AuditContext) -> CheckResult:
        if not any(s.verdict == "OK" for s in ctx.samples):
            raise Skip("no image has the verdict OK")
        defects = defect_classes(ctx, infer_unknown=self.params.infer_defect_classes)
        findings: list[Finding] = []
        for s in ctx.samples:
            if s.verdict != "OK":
                continue
            regions = [a for a in ctx.regions(s.id) if a.label in defects]
            if not regions:
                continue
            labels = sorted({a.label for a in regions})
            findings.append(self.finding(
                f"the verdict is OK but the image has {len(regions)} defect region(s) ({', '.join(labels)})",
                samples=[s.id], paths=[s.path], annotations=[a.uid or "" for a in regions], split=s.split,
                label=labels[0] if len(labels) == 1 else None, score=float(len(regions)),
                evidence={**box_evidence([(s, a) for a in regions]), "classes": labels},
            ))
        return self.result(findings, good_images_with_regions=len(findings))
