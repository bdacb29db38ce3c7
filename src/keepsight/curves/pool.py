"""The train pool and the fixed test set of a curve, read from the dataset's splits.

* Without ``holdout``: the pool is the ``train`` split, the test set the ``test`` split. ``val`` is
  never used. No test split is an error (pass a holdout fraction instead).
* With ``holdout``: for datasets without a test split. The pool and the test set are cut from
  the ``train`` and ``unassigned`` samples, group-aware and stratified, with a fixed seed, before
  any subset is drawn; the test side is never used for any choice.

For the anomaly task the pool keeps only good (OK) images; the test set keeps OK and NG.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from keepsight.curves.items import (
    NG,
    OK,
    CurveItem,
    LabelMode,
    Pool,
    Task,
    choose_label_mode,
    group_ids,
    labeler,
    make_item,
)
from keepsight.curves.subsets import holdout_split
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError

HOLDOUT_SEED = 12345  # fixed: the holdout must not move with the curve's seed


def build_pool(
    ds: Dataset,
    task: Task,
    *,
    labels: LabelMode = "auto",
    holdout: float | None = None,
    use_groups: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Pool:
    rows = list(ds.samples_with_annotations())
    if not rows:
        raise DatasetError("the dataset holds no samples", path=ds.root)
    mode: LabelMode = labels
    if task == "anomaly":
        mode = "verdict"
    elif mode == "auto":
        mode = choose_label_mode(rows) if task == "classify" else "class"
    splits = Counter(s.split for s, _ in rows)
    if holdout is not None and splits["test"]:
        raise DatasetError(f"the dataset has a test split ({splits['test']} samples); --holdout is only for "
                           "datasets without one (drop it to use the test split)")
    if holdout is None and not splits["test"]:
        raise DatasetError(f"the dataset has no test split (splits: {dict(splits)}); assign one, or pass "
                           "--holdout 0.2 to hold out a group-aware 20% of the train split for testing")
    wanted = ("train",) if holdout is None else ("train", "unassigned")
    used = [(s, a) for s, a in rows if s.split in (*wanted, "test")]
    groups = group_ids(ds, (s for s, _ in used), use_groups=use_groups, progress=progress)
    label_of = labeler(task, mode)
    excluded: Counter[str] = Counter()
    train: list[CurveItem] = []
    test: list[CurveItem] = []
    for sample, anns in used:
        label, why = label_of(sample, anns)
        if label is None:
            excluded[why or "no label"] += 1
            continue
        item = make_item(sample, anns, label, groups[sample.id])
        (test if sample.split == "test" else train).append(item)
    if holdout is not None:
        keep, held = holdout_split(train, holdout, HOLDOUT_SEED, task=task)
        train, test = [train[i] for i in keep], [train[i] for i in held]
    if task == "anomaly":
        dropped = sum(1 for i in train if i.label != OK)
        if dropped:
            excluded["NG images in the train pool (an anomaly model trains on good images)"] += dropped
        train = [i for i in train if i.label == OK]
        _require_both(test)
    if not train:
        raise DatasetError(f"no usable {task} samples in the train pool (left out: {dict(excluded) or 'none'})")
    if not test:
        raise DatasetError(f"no usable {task} samples in the test set (left out: {dict(excluded) or 'none'})")
    if task == "classify" and len({i.label for i in train}) < 2:
        raise DatasetError(f"classification needs two classes in the train pool, found {sorted({i.label for i in train})}"
                           " (try --labels verdict or --labels class)")
    return Pool(train=train, test=test, labels=mode, excluded=excluded, holdout=holdout)


def _require_both(test: list[CurveItem]) -> None:
    counts = Counter(i.label for i in test)
    if not counts[OK] or not counts[NG]:
        raise DatasetError(f"anomaly detection needs OK and NG images in the test set, found {dict(counts)}")
