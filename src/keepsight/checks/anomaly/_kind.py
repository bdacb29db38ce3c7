"""Whether a dataset is for anomaly detection: a training split of good parts only.

Anomaly detectors (PatchCore, PaDiM, EfficientAD...) learn what good looks like from good images alone
and are tested on good and defect images. Such a dataset shows itself by a train split that is (almost)
only good images while defects appear elsewhere; the ``anomaly`` param overrides the guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keepsight.checks._defects import condition, defect_classes, good_classes
from keepsight.checks.context import AuditContext
from keepsight.model.annotation import Sample


@dataclass
class Conditions:
    """Samples per split sorted into good, defect and unknown."""

    by_split: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)

    def of(self, split: str, cond: str) -> list[Sample]:
        return self.by_split.get(split, {}).get(cond, [])

    def known(self, split: str) -> int:
        return len(self.of(split, "good")) + len(self.of(split, "defect"))


def conditions(ctx: AuditContext, *, infer_unknown: bool = True) -> Conditions:
    defects, goods = defect_classes(ctx, infer_unknown=infer_unknown), good_classes(ctx)
    out = Conditions()
    for s in ctx.samples:
        cond = condition(ctx, s, defects, goods)
        out.by_split.setdefault(s.split, {}).setdefault(cond, []).append(s)
    return out


def anomaly_verdict(c: Conditions, *, min_good_share: float, max_defect_ratio: float, min_train: int,
                    forced: bool | None) -> tuple[bool, str]:
    """(is an anomaly-detection dataset, why).

    Anomaly datasets keep defects out of train and put them in the evaluation splits; supervised datasets
    split defects evenly (stratified). So: train is at least ``min_good_share`` good, and its defect share
    is at most ``max_defect_ratio`` times the defect share of val and test together.
    """
    if forced is not None:
        return forced, "set by the check's `anomaly` param"
    known = c.known("train")
    if known < min_train:
        return False, f"the train split holds {known} images with a known condition ({min_train} needed to judge)"
    train_defect = len(c.of("train", "defect")) / known
    held_known = sum(c.known(split) for split in ("val", "test"))
    held_defect = sum(len(c.of(split, "defect")) for split in ("val", "test")) / held_known if held_known else 0.0
    if held_defect == 0:
        return False, "val and test hold no defect image"
    if 1.0 - train_defect >= min_good_share and train_defect <= max_defect_ratio * held_defect:
        return True, (f"the train split is {1.0 - train_defect:.0%} good while {held_defect:.0%} of val/test are "
                      "defects")
    return False, f"{train_defect:.0%} of train and {held_defect:.0%} of val/test are defects (a supervised split)"
