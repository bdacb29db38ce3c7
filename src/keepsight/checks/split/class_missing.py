"""split.class_missing: a class absent from one of the splits.

A class missing from train cannot be learned (an error); a class missing from val or test is never
measured, so its failures stay invisible (a warning).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext
from keepsight.checks.split._pairs import EVALUATED

EXAMPLES = 12  # images of the class a finding names: enough to show it, not every image of a large class


class ClassMissingParams(CheckParams):
    """``min_images`` 1: report a class with fewer images than this in a split (1 = only absent classes).
    Raise it to see classes too thin to measure, e.g. 5."""

    min_images: int = Field(1, ge=1, description="images of the class a split needs")


class ClassMissingFromSplit(Check):
    id = "split.class_missing"
    title = "Classes absent from a split"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations"})
    action = "move some images of the class (whole objects) into this split, or collect more"
    Params = ClassMissingParams
    params: ClassMissingParams

    def run(self, ctx: AuditContext) -> CheckResult:
        splits = [s for s in EVALUATED if ctx.splits.get(s)]
        if len(splits) < 2:
            raise Skip("fewer than two of train, val and test hold images")
        images: dict[str, dict[str, list[int]]] = {}  # class -> split -> sample ids
        for split in splits:
            for s in ctx.splits[split]:
                for label in {a.label for a in ctx.annotations.get(s.id, [])}:
                    images.setdefault(label, {}).setdefault(split, []).append(s.id)
        if not images:
            raise Skip("no annotations")
        findings: list[Finding] = []
        for label, per_split in sorted(images.items()):
            counts = {split: len(per_split.get(split, [])) for split in splits}
            for split in splits:
                if counts[split] >= self.params.min_images:
                    continue
                absent = counts[split] == 0
                what = "has no image" if absent else f"has only {counts[split]} image(s)"
                held = sorted(i for ids in per_split.values() for i in ids)[:EXAMPLES]  # images to move or show
                findings.append(self.finding(
                    f"class {label!r} {what} in {split} ("
                    + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")",
                    severity="error" if split == "train" else None,
                    samples=held, paths=[ctx.by_id[i].path for i in held], label=label, split=split,
                    score=float(self.params.min_images - counts[split]), evidence={"images_per_split": counts},
                ))
        return self.result(findings, classes=len(images), splits=splits)
