"""anomaly.no_good_test: a test split without good images, in an anomaly-detection dataset.

Without good test images nobody measures false alarms, and the threshold that separates good from
defect cannot be set: every image above it is a defect by construction, so any threshold looks perfect.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks.anomaly._kind import anomaly_verdict, conditions
from keepsight.checks.anomaly.contaminated_train import AnomalyParams
from keepsight.checks.base import Check, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext


class NoGoodTestParams(AnomalyParams):
    """``min_good`` 1: the fewest good test images accepted (1 = only a test split with none is reported).
    Raise it (e.g. 20) to require enough good images to estimate the false-alarm rate. The other params
    recognise an anomaly-detection dataset, as in anomaly.contaminated_train."""

    min_good: int = Field(1, ge=1, description="good images the test split needs")


class NoGoodTest(Check):
    id = "anomaly.no_good_test"
    title = "No good images in the test split"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "add good images (never used for training) to the test split"
    Params = NoGoodTestParams
    params: NoGoodTestParams

    def run(self, ctx: AuditContext) -> CheckResult:
        if not ctx.splits.get("test"):
            raise Skip("there is no test split (split.missing reports it)")
        c = conditions(ctx, infer_unknown=self.params.infer_defect_classes)
        is_anomaly, why = anomaly_verdict(c, min_good_share=self.params.min_good_share,
                                          max_defect_ratio=self.params.max_defect_ratio,
                                          min_train=self.params.min_train, forced=self.params.anomaly)
        if not is_anomaly:
            raise Skip(f"not an anomaly-detection dataset: {why}")
        good, defect = c.of("test", "good"), c.of("test", "defect")
        findings: list[Finding] = []
        if len(good) < self.params.min_good:
            examples = defect[:12]
            findings.append(self.finding(
                f"the test split holds {len(good)} good image(s) and {len(defect)} defect image(s): false alarms "
                "cannot be measured", samples=[s.id for s in examples], paths=[s.path for s in examples],
                split="test", score=float(self.params.min_good - len(good)),
                evidence={"good": len(good), "defect": len(defect), "min_good": self.params.min_good,
                          "why_anomaly": why},
            ))
        return self.result(findings, test_good=len(good), test_defect=len(defect))
