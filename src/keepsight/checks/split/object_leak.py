"""split.object_leak: the same object group in two splits, where no single exact or near pair shows it.

The same-object engine joins captures into groups through every kind of link: identical bytes, near
duplicates, an annotated region found again in another image, a shared serial number in the metadata,
and chains of those (A looks like B, B like C). A group that spans train and test leaks the object even
when its train and test images look nothing alike, so the test score overstates how well the model
handles parts it has never seen. Pairs already reported by ``split.exact_leak`` or ``split.near_leak``
are not reported again.
"""

from __future__ import annotations

from itertools import combinations
from typing import ClassVar

from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity
from keepsight.checks.context import AuditContext
from keepsight.checks.split._pairs import EVALUATED, leaking
from keepsight.model.annotation import Sample


class ObjectLeakParams(CheckParams):
    """``direct_reasons``: links whose leaks other checks report (exact -> split.exact_leak, near and hash ->
    split.near_leak). A group is reported here when at least one of its leaking sample pairs is not such a
    direct link. ``max_links`` caps the links listed in the evidence."""

    direct_reasons: list[str] = Field(default_factory=lambda: ["exact", "near", "hash"],
                                      description="pair reasons reported by the exact/near leak checks")
    max_links: int = Field(50, ge=1, description="links listed in a finding's evidence")


class ObjectLeak(Check):
    id = "split.object_leak"
    title = "The same object in two splits"
    severity: ClassVar[Severity] = "error"
    inputs = frozenset({"samples", "similarity"})
    action = "split by object: move every capture of the object into one split"
    Params = ObjectLeakParams
    params: ObjectLeakParams

    def run(self, ctx: AuditContext) -> CheckResult:
        direct = {(p.a, p.b) for p in ctx.similarity.pairs if p.reason in set(self.params.direct_reasons)}
        links: dict[str, list[list[object]]] = {}
        for p in ctx.similarity.pairs:
            links.setdefault(ctx.group_of.get(p.a, ""), []).append([p.path_a, p.path_b, p.reason])
        findings: list[Finding] = []
        for group in ctx.similarity.groups:
            members = [ctx.by_id[i] for i in group.samples if i in ctx.by_id and ctx.by_id[i].split in EVALUATED]
            cross = [(a, b) for a, b in combinations(members, 2) if leaking(a.split, b.split)]
            indirect = [(a, b) for a, b in cross if (min(a.id, b.id), max(a.id, b.id)) not in direct]
            if not indirect:
                continue
            involved = sorted({s.id: s for pair in cross for s in pair}.values(),
                              key=lambda s: (EVALUATED.index(s.split), s.path))
            per_split = _count_splits(involved)
            findings.append(self.finding(
                f"one object ({len(group.samples)} captures) is in "
                + " and ".join(f"{split} ({n})" for split, n in per_split.items())
                + f", linked by {', '.join(sorted(group.reasons))}",
                samples=[s.id for s in involved], paths=[s.path for s in involved], split="/".join(per_split),
                score=float(len(indirect)),
                evidence={"group": group.id, "group_size": len(group.samples), "links_by_reason": group.reasons,
                          "splits": per_split, "indirect_pairs": len(indirect),
                          "links": links.get(group.id, [])[: self.params.max_links]},
            ))
        return self.result(findings, leaking_groups=len(findings))


def _count_splits(samples: list[Sample]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in samples:
        out[s.split] = out.get(s.split, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: EVALUATED.index(kv[0])))
