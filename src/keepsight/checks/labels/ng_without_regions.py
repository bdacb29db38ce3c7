"""labels.ng_without_regions: images said to show a defect that carry no region, in a region-annotated dataset.

"Said to show a defect": verdict NG, or (without a verdict) a tag of a defect class.

A detector or segmenter trains on such an image as if it showed nothing: the defect becomes background,
and the model is taught to ignore it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._defects import defect_classes
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext


class NgWithoutRegionsParams(CheckParams):
    """``infer_defect_classes`` (default on): a class whose label-book entry leaves ``is_defect`` unknown
    counts as a defect when it is drawn as a region elsewhere in the dataset, since imports rarely fill
    ``is_defect`` and regions mark defects far more often than anything else."""

    infer_defect_classes: bool = Field(True, description="treat unknown classes drawn as regions as defects")


class NgWithoutRegions(Check):
    id = "labels.ng_without_regions"
    title = "Defect images without any region"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "draw the defect's region, or correct the verdict / tag if the image shows no defect"
    Params = NgWithoutRegionsParams
    params: NgWithoutRegionsParams

    def run(self, ctx: AuditContext) -> CheckResult:
        if not ctx.region_annotated:
            raise Skip("the dataset holds no regions (image-level labels only)")
        defects = defect_classes(ctx, infer_unknown=self.params.infer_defect_classes)
        findings: list[Finding] = []
        for s in ctx.samples:
            if ctx.regions(s.id):
                continue
            tags = sorted({a.label for a in ctx.annotations.get(s.id, []) if a.label in defects})
            if s.verdict != "NG" and (s.verdict == "OK" or not tags):
                continue  # a stated verdict OK outweighs a tag (folder layouts tag good images with their folder)
            said = " and ".join(part for part in (
                "verdict NG" if s.verdict == "NG" else "", f"tagged {', '.join(tags)}" if tags else "") if part)
            findings.append(self.finding(
                f"the image is marked as a defect ({said}) but has no region",
                samples=[s.id], paths=[s.path], split=s.split, label=tags[0] if len(tags) == 1 else None,
                score=1.0, evidence={"verdict": s.verdict, "defect_tags": tags},
            ))
        return self.result(findings, defect_images_without_regions=len(findings))
