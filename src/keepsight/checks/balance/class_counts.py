"""balance.class_counts: classes with too few images, and classes dwarfed by the largest one.

A class with a handful of images cannot be split into train, val and test with more than one or two
images each, and its scores are noise. A class a tenth the size of the largest is seen ten times less
in every epoch: unless the training re-weights it, the model learns to ignore it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from keepsight.checks._defects import good_classes
from keepsight.checks.base import Check, CheckParams, CheckResult, Finding, Severity, Skip
from keepsight.checks.context import AuditContext

EXAMPLES = 12  # images a finding names


class ClassCountsParams(CheckParams):
    """``min_images`` 10: the fewest images of a class that still leave a few for each of train, val and test
    after a 70/15/15 split. ``max_ratio`` 10: the largest class over this class; at ten to one, plain
    training sees the small class too rarely to learn it (re-weighting, over-sampling or more data needed).
    Classes of the label book that no image has are reported as having 0 images; classes marked
    ``is_defect: false`` (a ``good`` tag) are left out of the imbalance comparison."""

    min_images: int = Field(10, ge=1, description="images a class needs (fewer: warning)")
    max_ratio: float = Field(10.0, gt=1, description="largest class / this class above which: imbalance (info)")


class ClassCounts(Check):
    id = "balance.class_counts"
    title = "Rare and imbalanced classes"
    severity: ClassVar[Severity] = "warning"
    inputs = frozenset({"samples", "annotations", "labelbook"})
    action = "collect more images of the class, or merge it with a related class"
    Params = ClassCountsParams
    params: ClassCountsParams

    def run(self, ctx: AuditContext) -> CheckResult:
        images: dict[str, list[int]] = {name: [] for name in ctx.labelbook.names()}
        annotations: dict[str, int] = {}
        for s in ctx.samples:
            labels = [a.label for a in ctx.annotations.get(s.id, [])]
            for label in set(labels):
                images.setdefault(label, []).append(s.id)
            for label in labels:
                annotations[label] = annotations.get(label, 0) + 1
        if not images:
            raise Skip("no classes")
        counts = {label: len(ids) for label, ids in images.items()}
        # Imbalance is judged among the classes that are not marked good: good parts outnumber every defect
        # in most datasets, and that is no reason to re-weight.
        goods = good_classes(ctx)
        compared = {label: n for label, n in counts.items() if label not in goods} or counts
        largest_label, largest = max(compared.items(), key=lambda kv: kv[1])
        findings: list[Finding] = []
        for label, n in sorted(counts.items(), key=lambda kv: kv[1]):
            examples = images[label][:EXAMPLES]
            evidence = {"images": n, "annotations": annotations.get(label, 0), "largest_class": largest_label,
                        "largest_images": largest}
            if n < self.params.min_images:
                what = "no image" if n == 0 else f"only {n} image(s)"
                findings.append(self.finding(
                    f"class {label!r} has {what} (fewer than {self.params.min_images})", samples=examples,
                    paths=[ctx.by_id[i].path for i in examples], label=label,
                    score=float(self.params.min_images - n), evidence=evidence,
                ))
            elif label in compared and largest / n >= self.params.max_ratio:
                findings.append(self.finding(
                    f"class {label!r} has {n} images, {largest / n:.0f} times fewer than {largest_label!r} ({largest})",
                    severity="info", samples=examples, paths=[ctx.by_id[i].path for i in examples], label=label,
                    score=largest / n, evidence={**evidence, "ratio": round(largest / n, 2)},
                    action="re-weight or over-sample the class when training, or collect more of it",
                ))
        return self.result(findings, images_per_class=counts, annotations_per_class=annotations)
