"""anomaly.contaminated_train: defect images in the good-only training split of an anomaly-detection dataset.

An anomaly detector learns "good" from every training image; a defect among them becomes normal, and the
detector stops flagging that defect.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks.anomaly._kind import anomaly_verdict, conditions
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext


class AnomalyParams(CheckParams):
    """How the dataset is recognised as anomaly detection (``anomaly``: true/false overrides the guess):

    * ``min_good_share`` 0.9: the train split is at least 90% good. A clean anomaly set is 100% good; 90%
      still catches a contamination of up to one image in ten.
    * ``max_defect_ratio`` 0.25: train's defect share is under a quarter of val+test's. Supervised datasets
      are split stratified (ratio about 1); anomaly sets keep defects for testing (MVTec AD: 0 in train,
      about 70% in test), so even a contaminated train stays far under a quarter.
    * ``min_train`` 10: fewer train images with a known condition say nothing.
    * ``infer_defect_classes``: as in ``labels.ng_without_regions``.
    """

    anomaly: bool | None = Field(None, description="force the dataset kind (None = recognise it)")
    min_good_share: float = Field(0.9, gt=0.5, le=1, description="good share of train in an anomaly dataset")
    max_defect_ratio: float = Field(0.25, ge=0, le=1, description="train defect share / val+test defect share")
    min_train: int = Field(10, ge=1, description="train images with a known condition needed to judge")
    infer_defect_classes: bool = Field(True, description="treat unknown classes drawn as regions as defects")


class ContaminatedTrain(Check):
    id = "anomaly.contaminated_train"
    title = "Defect images in an anomaly-detection training set"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "move the image to the test split (or drop it): anomaly training must see good parts only"
    Params = AnomalyParams
    params: AnomalyParams

    def run(self, ctx: AuditContext) -> CheckResult:
        c = conditions(ctx, infer_unknown=self.params.infer_defect_classes)
        is_anomaly, why = anomaly_verdict(c, min_good_share=self.params.min_good_share,
                                          max_defect_ratio=self.params.max_defect_ratio,
                                          min_train=self.params.min_train, forced=self.params.anomaly)
        if not is_anomaly:
            raise Skip(f"not an anomaly-detection dataset: {why}")
        findings: list[Finding] = []
        for s in c.of("train", "defect"):
            labels = sorted({a.label for a in ctx.annotations.get(s.id, [])})
            said = ", ".join(part for part in ("verdict NG" if s.verdict == "NG" else "",
                                               f"classes {', '.join(labels)}" if labels else "") if part)
            findings.append(self.finding(
                f"a defect image ({said}) is in the good-only training split", samples=[s.id], paths=[s.path],
                split="train", score=1.0, evidence={"verdict": s.verdict, "classes": labels, "why_anomaly": why},
            ))
        return self.result(findings, train_good=len(c.of("train", "good")), train_defect=len(c.of("train", "defect")),
                           dataset=why)
