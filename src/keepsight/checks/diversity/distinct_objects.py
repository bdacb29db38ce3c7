"""diversity.distinct_objects: per class, how many distinct objects (not images) show it.

A model generalises over objects, not over captures: 200 images of 4 parts teach 4 examples. The
practice of visual inspection asks for 20 to 50 distinct parts per defect class before a model is
trusted; the same-object engine counts them (captures linked into one group count once).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext

EXAMPLES = 12  # images a finding names, one per object: enough to show the class


class DistinctObjectsParams(CheckParams):
    """``min_objects`` 20 and ``target_objects`` 50: the practice's 20 to 50 distinct parts per class. Under
    the minimum is a warning (the model will not generalise); between the two is info (enough to start,
    not to trust)."""

    min_objects: int = Field(20, ge=1, description="distinct objects a class needs (fewer: warning)")
    target_objects: int = Field(50, ge=1, description="distinct objects a class should have (fewer: info)")

    @model_validator(mode="after")
    def _ordered(self) -> DistinctObjectsParams:
        if self.target_objects < self.min_objects:
            raise ValueError("target_objects must be at least min_objects")
        return self


class DistinctObjects(Check):
    id = "diversity.distinct_objects"
    title = "Too few distinct objects per class"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "similarity"})
    action = "collect images of more different parts for this class (more captures of the same parts do not help)"
    Params = DistinctObjectsParams
    params: DistinctObjectsParams

    def run(self, ctx: AuditContext) -> CheckResult:
        images: dict[str, list[int]] = {}
        for s in ctx.samples:
            for label in {a.label for a in ctx.annotations.get(s.id, [])}:
                images.setdefault(label, []).append(s.id)
        if not images:
            raise Skip("no annotations, so no classes to count")
        group_of = ctx.group_of
        findings: list[Finding] = []
        objects_per_class: dict[str, int] = {}
        for label, ids in sorted(images.items()):
            first_of_group: dict[str, int] = {}
            for sid in ids:
                first_of_group.setdefault(group_of.get(sid, f"solo:{sid}"), sid)
            n = len(first_of_group)
            objects_per_class[label] = n
            if n >= self.params.target_objects:
                continue
            below_min = n < self.params.min_objects
            examples = list(first_of_group.values())[:EXAMPLES]
            findings.append(self.finding(
                f"class {label!r} shows {n} distinct object(s) in {len(ids)} image(s); the practice asks for "
                f"{self.params.min_objects}-{self.params.target_objects}",
                severity=None if below_min else "info", samples=examples,
                paths=[ctx.by_id[i].path for i in examples], label=label, score=float(self.params.target_objects - n),
                evidence={"objects": n, "images": len(ids), "min_objects": self.params.min_objects,
                          "target_objects": self.params.target_objects},
            ))
        return self.result(findings, objects_per_class=objects_per_class)
