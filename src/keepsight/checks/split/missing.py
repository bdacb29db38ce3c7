"""split.missing: no test split (a warning) or no validation split (info).

Without a held-out test split nothing measures the model honestly; without a validation split the
test split ends up tuning thresholds and early stopping, and stops being held out.
"""

from __future__ import annotations

from typing import ClassVar

from keepsight.checks.base import Check, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext


class MissingSplit(Check):
    id = "split.missing"
    title = "Missing test or validation split"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples"})
    action = "split the dataset by object (every capture of an object in one split) into train, val and test"

    def run(self, ctx: AuditContext) -> CheckResult:
        counts = {split: len(samples) for split, samples in ctx.splits.items()}
        findings: list[Finding] = []
        if not ctx.samples:
            return self.result(findings, samples_per_split=counts)
        if not counts.get("test"):
            where = "no image is assigned to any split" if set(counts) <= {"unassigned"} else \
                f"the splits are {', '.join(f'{k} ({v})' for k, v in sorted(counts.items()))}"
            findings.append(self.finding(
                f"there is no test split: {where}", score=1.0, split="test", evidence={"samples_per_split": counts},
            ))
        if not counts.get("val"):
            findings.append(self.finding(
                "there is no validation split: tuning on the test split makes its score optimistic",
                severity="info", score=1.0, split="val", evidence={"samples_per_split": counts},
                action="hold out a validation split (by object) for tuning and early stopping",
            ))
        return self.result(findings, samples_per_split=counts)
