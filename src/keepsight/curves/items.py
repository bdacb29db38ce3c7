"""What a learning curve trains on: one :class:`CurveItem` per usable sample, with its label and object group.

Labels come from the catalog:

* ``labels="class"``: the sample's class tag; else the one class of its regions (boxes, masks...);
  a sample whose regions name several classes has no single image class and is left out.
* ``labels="verdict"``: the OK/NG verdict; a sample without one is NG when it has regions or a
  class tag (a tag named like a verdict, ``good``/``OK``..., counts as that verdict), else left out.

For the anomaly task an item is "good" when its verdict label is OK; its ``defect`` is the class
of an NG sample (for the per-defect curves).

Groups come from the same-object engine (``similarity.find_similar``): images of one physical
object share a group and always land on the same side of every cut; a sample in no group is its
own group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from keepsight.dataset import Dataset
from keepsight.model.annotation import Annotation, Sample, verdict_or_none

Task = Literal["classify", "anomaly", "detect", "segment"]
TASKS: tuple[Task, ...] = ("classify", "anomaly", "detect", "segment")
LabelMode = Literal["auto", "class", "verdict"]
OK, NG = "OK", "NG"


@dataclass(frozen=True)
class CurveItem:
    sample_id: int
    path: str
    digest: str
    label: str  # the class (classify), OK/NG (anomaly), the main class or "background" (detect/segment)
    group: str
    defect: str | None = None  # anomaly: the class of an NG sample


@dataclass
class Pool:
    """The train pool and the fixed test set of one curve, plus what was left out and why."""

    train: list[CurveItem]
    test: list[CurveItem]
    labels: LabelMode
    excluded: Counter[str] = field(default_factory=Counter)
    holdout: float | None = None

    def classes(self) -> list[str]:
        return sorted({i.label for i in [*self.train, *self.test]})


def class_label(sample: Sample, anns: list[Annotation]) -> str | None:
    tags = [a.label for a in anns if a.kind == "tag"]
    if tags:
        return tags[0] if len(set(tags)) == 1 else None
    regions = {a.label for a in anns}
    if len(regions) == 1:
        return regions.pop()
    if not regions and sample.verdict == OK:
        return OK
    return None


def verdict_label(sample: Sample, anns: list[Annotation]) -> str | None:
    """The verdict; without one, NG for a sample with regions or a class tag (unless the tag reads as OK)."""
    if sample.verdict is not None:
        return sample.verdict
    if any(a.kind != "tag" for a in anns):
        return NG
    tags = {verdict_or_none(a.label) or NG for a in anns}
    return tags.pop() if len(tags) == 1 else (NG if tags else None)


def _defect(sample: Sample, anns: list[Annotation]) -> str | None:
    if verdict_label(sample, anns) != NG:
        return None
    names = sorted({a.label for a in anns if a.label not in (OK, NG)})
    return names[0] if len(names) == 1 else ("several" if names else NG)


def _main_class(anns: list[Annotation]) -> str:
    counts = Counter(a.label for a in anns if a.kind != "tag")
    return counts.most_common(1)[0][0] if counts else "background"


def choose_label_mode(rows: Iterable[tuple[Sample, list[Annotation]]]) -> LabelMode:
    """``class`` when the samples carry at least two image classes, else ``verdict``."""
    seen: set[str] = set()
    for sample, anns in rows:
        label = class_label(sample, anns)
        if label is not None:
            seen.add(label)
            if len(seen) >= 2:
                return "class"
    return "verdict"


Labeler = Callable[[Sample, list[Annotation]], tuple[str | None, str | None]]  # -> (label or None, why left out)


def labeler(task: Task, mode: LabelMode) -> Labeler:
    def classify(sample: Sample, anns: list[Annotation]) -> tuple[str | None, str | None]:
        if mode == "verdict":
            label = verdict_label(sample, anns)
            return label, None if label else "no verdict and no regions"
        label = class_label(sample, anns)
        if label is None:
            return None, "several classes in one image" if anns else "no class"
        return label, None

    def anomaly(sample: Sample, anns: list[Annotation]) -> tuple[str | None, str | None]:
        label = verdict_label(sample, anns)
        return label, None if label else "no verdict and no regions"

    def regions(sample: Sample, anns: list[Annotation]) -> tuple[str | None, str | None]:
        return _main_class(anns), None

    return {"classify": classify, "anomaly": anomaly, "detect": regions, "segment": regions}[task]


def group_ids(ds: Dataset, samples: Iterable[Sample], *, use_groups: bool,
              progress: Callable[[int, int], None] | None = None) -> dict[int, str]:
    """Sample id -> object group id (from the saved groups, computed once if missing)."""
    ids = {s.id: f"s{s.id}" for s in samples}
    if not use_groups:
        return ids
    from keepsight.similarity import find_similar, load_groups

    saved = load_groups(ds.root)
    groups = saved[1] if saved is not None else find_similar(ds, progress=progress).groups
    for group in groups:
        for sid in group.samples:
            if sid in ids:
                ids[sid] = group.id
    return ids


def make_item(sample: Sample, anns: list[Annotation], label: str, group: str) -> CurveItem:
    return CurveItem(sample.id, sample.path, sample.blob, label, group, _defect(sample, anns))
