"""split.exact_leak: the same bytes in two splits (train vs val/test, val vs test)."""

from __future__ import annotations

from itertools import combinations
from typing import ClassVar

from keepsight.checks.base import Check, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.split._pairs import leaking
from keepsight.model.annotation import Sample


class ExactLeak(Check):
    id = "split.exact_leak"
    title = "Identical images in two splits"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples"})
    action = "keep one copy, or move every copy into the same split (keepsight split --repair)"

    def run(self, ctx: AuditContext) -> CheckResult:
        by_blob: dict[str, list[Sample]] = {}
        for s in ctx.samples:
            by_blob.setdefault(s.blob, []).append(s)
        findings: list[Finding] = []
        for digest, copies in by_blob.items():
            for a, b in combinations(copies, 2):
                if leaking(a.split, b.split):
                    findings.append(self.finding(
                        f"the same image is in {a.split} and {b.split}",
                        samples=[a.id, b.id], paths=[a.path, b.path], split=f"{a.split}/{b.split}", score=1.0,
                        evidence={"digest": digest, "splits": [a.split, b.split]},
                    ))
        return self.result(findings, leaking_pairs=len(findings))
