"""Which classes are defects, and whether a sample shows a good part, a defect, or cannot be told.

The label book says it per class (``is_defect``). Many imports leave it unknown (``None``); such a
class counts as a defect when ``infer_unknown`` is on and the class is drawn as a region somewhere
in the dataset: regions mark what is wrong on a part far more often than what is right.
"""

from __future__ import annotations

from typing import Literal

from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample
from keepsight.model.geometry import REGION_KINDS

Condition = Literal["good", "defect", "unknown"]


def defect_classes(ctx: AuditContext, *, infer_unknown: bool = True) -> set[str]:
    drawn = {a.label for anns in ctx.annotations.values() for a in anns if a.kind in REGION_KINDS}
    out: set[str] = set()
    for name in {a.label for anns in ctx.annotations.values() for a in anns} | set(ctx.labelbook.names()):
        spec = ctx.labelbook.classes.get(name)
        flag = spec.is_defect if spec is not None else None
        if flag is True or (flag is None and infer_unknown and name in drawn):
            out.add(name)
    return out


def good_classes(ctx: AuditContext) -> set[str]:
    """Classes the label book marks as not a defect (``is_defect: false``), e.g. a ``good`` tag."""
    return {name for name, spec in ctx.labelbook.classes.items() if spec.is_defect is False}


def condition(ctx: AuditContext, sample: Sample, defects: set[str], goods: set[str]) -> Condition:
    """The verdict when there is one (the most direct statement; a verdict that contradicts the regions is
    ``labels.ok_with_regions``'s finding); else ``defect`` for any annotation of a defect class, ``good`` for
    annotations only of classes marked not-a-defect, ``unknown`` otherwise."""
    if sample.verdict is not None:
        return "defect" if sample.verdict == "NG" else "good"
    labels = {a.label for a in ctx.annotations.get(sample.id, [])}
    if labels & defects:
        return "defect"
    if labels and labels <= goods:
        return "good"
    return "unknown"
