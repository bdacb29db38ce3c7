"""labels.capture_conflict: captures of the same object that carry different verdicts or classes.

The same-object engine links captures of one physical part (identical files, verified near duplicates,
a region found again, a shared serial number). One part has one truth: if one capture says OK and
another NG, or the image-level classes differ, one label is wrong, or the defect is visible in only some
views, which the people who label should know. Near-identical images (the same view) must also carry
the same region classes.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._regions import box_evidence
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample


class CaptureConflictParams(CheckParams):
    """``same_view_reasons``: the links that mean "the same view", where the region classes must agree too.
    Default exact, near and hash: identical bytes, a verified near duplicate, an equal perceptual hash.
    Region and metadata links join different views of a part, whose regions may rightly differ."""

    same_view_reasons: list[str] = Field(default_factory=lambda: ["exact", "near", "hash"],
                                         description="pair reasons whose images must carry the same region classes")


class CaptureConflict(Check):
    id = "labels.capture_conflict"
    title = "Captures of one object with conflicting labels"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "similarity"})
    action = "look at the captures side by side and give them the same label (or record why the views differ)"
    Params = CaptureConflictParams
    params: CaptureConflictParams

    def run(self, ctx: AuditContext) -> CheckResult:
        if not any(s.verdict for s in ctx.samples) and not any(ctx.annotations.values()):
            raise Skip("no verdicts and no annotations to compare")
        findings: list[Finding] = []
        for group in ctx.similarity.groups:
            members = [ctx.by_id[i] for i in group.samples if i in ctx.by_id]
            evidence = {"group": group.id, "group_size": len(members), "links": group.reasons}
            verdicts = {s.verdict for s in members if s.verdict}
            if len(verdicts) > 1:
                findings.append(self._group_finding(
                    "verdicts", {s.path: str(s.verdict) for s in members if s.verdict}, members, evidence))
            tagged = {s.path: ",".join(sorted(self._tags(ctx, s))) for s in members if self._tags(ctx, s)}
            if len(set(tagged.values())) > 1:
                findings.append(self._group_finding("classes", tagged, members, evidence))
        same_view = set(self.params.same_view_reasons)
        for pair in ctx.similarity.pairs:
            if pair.reason not in same_view or pair.a not in ctx.by_id or pair.b not in ctx.by_id:
                continue
            a, b = ctx.by_id[pair.a], ctx.by_id[pair.b]
            ca = {r.label for r in ctx.regions(a.id)}
            cb = {r.label for r in ctx.regions(b.id)}
            if ca == cb:
                continue
            findings.append(self.finding(
                f"two images of the same view ({pair.reason}) carry different region classes: "
                f"{', '.join(sorted(ca)) or 'none'} vs {', '.join(sorted(cb)) or 'none'}",
                samples=[a.id, b.id], paths=[a.path, b.path], split=_splits(a, b), score=1.0,
                evidence={"reason": pair.reason, "classes": {a.path: sorted(ca), b.path: sorted(cb)},
                          "pair": pair.evidence,
                          **box_evidence([(s, r) for s in (a, b) for r in ctx.regions(s.id)], paths=[a.path, b.path])},
            ))
        return self.result(findings, groups=len(ctx.similarity.groups))

    @staticmethod
    def _tags(ctx: AuditContext, sample: Sample) -> set[str]:
        return {a.label for a in ctx.annotations.get(sample.id, []) if a.kind == "tag"}

    def _group_finding(self, what: str, labels: dict[str, str], members: list[Sample],
                       evidence: dict[str, object]) -> Finding:
        counts: dict[str, int] = {}
        for value in labels.values():
            counts[value or "none"] = counts.get(value or "none", 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        involved = [s for s in members if s.path in labels]
        return self.finding(
            f"{len(involved)} captures of the same object carry different {what}: {summary}",
            samples=[s.id for s in involved], paths=[s.path for s in involved],
            split=_splits(*involved), score=float(len(counts)), evidence={**evidence, what: labels},
        )


def _splits(*samples: Sample) -> str:
    return "/".join(sorted({s.split for s in samples}))

