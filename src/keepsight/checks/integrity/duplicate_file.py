"""integrity.duplicate_file: the same bytes under several names, where it is not a split leak.

Copies in two splits that must stay apart (train vs val/test, val vs test) are ``split.exact_leak``;
this check reports the others: copies within one split, or next to unassigned samples.
"""

from __future__ import annotations

from itertools import combinations
from typing import ClassVar

from keepsight.checks.base import Check, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.split._pairs import leaking
from keepsight.model.annotation import Sample


class DuplicateFiles(Check):
    id = "integrity.duplicate_file"
    title = "The same image under several names"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples"})
    action = "keep one copy: a duplicate counts twice in training and in every statistic"

    def run(self, ctx: AuditContext) -> CheckResult:
        by_blob: dict[str, list[Sample]] = {}
        for s in ctx.samples:
            by_blob.setdefault(s.blob, []).append(s)
        findings: list[Finding] = []
        for digest, copies in sorted(by_blob.items()):
            involved: dict[int, Sample] = {}
            for a, b in combinations(copies, 2):
                if not leaking(a.split, b.split):
                    involved[a.id], involved[b.id] = a, b
            if not involved:
                continue
            dupes = sorted(involved.values(), key=lambda s: s.path)
            splits = sorted({s.split for s in dupes})
            findings.append(self.finding(
                f"{len(dupes)} files hold the same image ({', '.join(splits)})",
                samples=[s.id for s in dupes], paths=[s.path for s in dupes], split="/".join(splits),
                score=float(len(dupes)), evidence={"digest": digest, "copies": len(dupes), "splits": splits},
            ))
        return self.result(findings, duplicated_images=len(findings),
                           extra_copies=sum(len(f.samples) - 1 for f in findings))
