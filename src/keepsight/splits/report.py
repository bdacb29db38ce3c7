"""What a split, a repair or an applied split file did: every move, and the counts it left."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from keepsight.model.annotation import Annotation, Sample
from keepsight.splits.assign import SPLIT_NAMES
from keepsight.splits.labels import NO_LABEL


@dataclass(frozen=True)
class Move:
    sample_id: int
    path: str
    source: str
    target: str


@dataclass
class SplitReport:
    action: str  # assign | repair | file (the event is split.<action>)
    moves: list[Move]
    counts: dict[str, int]  # samples per split, after
    ratios_achieved: dict[str, float]  # shares of train/val/test among the samples in one of them
    per_class: dict[str, dict[str, int]]  # class -> split -> images showing it ("(none)": no annotation)
    groups: int = 0  # object groups of more than one sample
    grouped_samples: int = 0
    largest_group: int = 0
    straddling_before: int = 0  # groups spread over several of train/val/test
    straddling_after: int = 0
    frozen_test: int = 0
    ratios_target: dict[str, float] | None = None
    per_stratum: dict[str, dict[str, int]] | None = None  # when stratified by verdict or a metadata key
    details: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["moves"] = [asdict(m) for m in self.moves]
        return body


def split_counts(splits: dict[int, str]) -> dict[str, int]:
    counts = Counter(splits.values())
    return {s: counts[s] for s in (*SPLIT_NAMES, "unassigned") if counts[s]}


def achieved_ratios(splits: dict[int, str]) -> dict[str, float]:
    counts = Counter(s for s in splits.values() if s in SPLIT_NAMES)
    total = sum(counts.values())
    return {s: round(counts[s] / total, 4) if total else 0.0 for s in SPLIT_NAMES}


def per_label_counts(rows: list[tuple[Sample, list[Annotation]]], splits: dict[int, str],
                     labels_of: Any) -> dict[str, dict[str, int]]:
    """label -> split -> number of images carrying it (``labels_of(sample, annotations)`` gives the labels)."""
    out: dict[str, Counter[str]] = {}
    for sample, anns in rows:
        for label in labels_of(sample, anns):
            out.setdefault(label, Counter())[splits[sample.id]] += 1
    order = sorted(out, key=lambda k: (k == NO_LABEL, k))
    return {k: dict(sorted(out[k].items())) for k in order}
