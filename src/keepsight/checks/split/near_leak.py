"""split.near_leak: a verified near duplicate in two splits (train vs val/test, val vs test).

Not the same bytes (that is ``split.exact_leak``) but the same view of the same object: re-encoded,
resized, shifted, rotated, relit. The same-object engine confirms each pair geometrically (RANSAC
inliers), or, for images too plain to verify, by equal rotation-invariant perceptual hashes.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.split._pairs import leaking


class NearLeakParams(CheckParams):
    """``reasons``: the pair kinds that count as a near duplicate. Default near (geometrically verified) and
    hash (equal dihedral pHash on images with too few keypoints to verify). Their thresholds live in the
    same-object engine (docs/similarity.md), tuned there for no false merges on synthetic captures."""

    reasons: list[str] = Field(default_factory=lambda: ["near", "hash"], description="pair reasons reported")


class NearLeak(Check):
    id = "split.near_leak"
    title = "Near-duplicate images in two splits"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "similarity"})
    action = "move both images into the same split (the split of the object), or drop one"
    Params = NearLeakParams
    params: NearLeakParams

    def run(self, ctx: AuditContext) -> CheckResult:
        reasons = set(self.params.reasons)
        findings: list[Finding] = []
        for pair in ctx.similarity.pairs:
            if pair.reason not in reasons or pair.a not in ctx.by_id or pair.b not in ctx.by_id:
                continue
            a, b = ctx.by_id[pair.a], ctx.by_id[pair.b]
            if not leaking(a.split, b.split):
                continue
            if pair.reason == "near":
                how = f"verified with {pair.strength:.0f} matching keypoints"
            else:
                how = f"linked by {pair.reason}"
            findings.append(self.finding(
                f"a near duplicate is in {a.split} and {b.split} ({how})",
                samples=[a.id, b.id], paths=[a.path, b.path], split=f"{a.split}/{b.split}", score=pair.strength,
                evidence={"reason": pair.reason, "strength": pair.strength, "splits": [a.split, b.split],
                          **pair.evidence},
            ))
        return self.result(findings, leaking_pairs=len(findings))
