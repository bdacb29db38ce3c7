"""diversity.repeated_object: one object captured many times within a split.

Every capture of a part counts as a training example, but they all show the same part: a part shot
ten times weighs like ten parts, and the model learns that part (its scratches, its serial) instead of
the defect. In val or test, repeats inflate the score with one easy or hard part.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample


class RepeatedObjectParams(CheckParams):
    """``min_captures`` 5: from five captures on, one part weighs like five parts in training and in every
    count; stations that photograph each part with several cameras by design should set it above their
    number of views."""

    min_captures: int = Field(5, ge=2, description="captures of one object within a split that are reported")


class RepeatedObject(Check):
    id = "diversity.repeated_object"
    title = "One object captured many times in a split"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "similarity"})
    action = "keep a few captures of the object (the most different ones), or weight them down when training"
    Params = RepeatedObjectParams
    params: RepeatedObjectParams

    def run(self, ctx: AuditContext) -> CheckResult:
        findings: list[Finding] = []
        for group in ctx.similarity.groups:
            per_split: dict[str, list[Sample]] = {}
            for sid in group.samples:
                if sid in ctx.by_id:
                    per_split.setdefault(ctx.by_id[sid].split, []).append(ctx.by_id[sid])
            for split, members in sorted(per_split.items()):
                if len(members) < self.params.min_captures:
                    continue
                share = len(members) / len(ctx.splits[split])
                findings.append(self.finding(
                    f"one object is captured {len(members)} times in {split} ({share:.0%} of the split), "
                    f"linked by {', '.join(sorted(group.reasons))}",
                    samples=[s.id for s in members], paths=[s.path for s in members], split=split,
                    score=float(len(members)),
                    evidence={"group": group.id, "captures": len(members), "share_of_split": round(share, 4),
                              "links_by_reason": group.reasons, "group_size": len(group.samples)},
                ))
        return self.result(findings, repeated_objects=len(findings), groups=len(ctx.similarity.groups))
