"""Leak-free splits of a dataset: place whole object groups, repair leaks, apply a shipped split,
and keep a frozen test set frozen. Every move is written with who, when and why (the events table)
and each operation is saved as a run (``.keepsight/runs/split/<id>/``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from keepsight.dataset import Dataset, current_user
from keepsight.descriptors.describe import Progress
from keepsight.errors import ConflictError, DatasetError
from keepsight.model.annotation import Annotation, Sample
from keepsight.runs import fingerprint, finish_run, start_run
from keepsight.splits.assign import SPLIT_NAMES, Ratios, Unit, assign_units, parse_ratios, repair_targets, straddling
from keepsight.splits.from_file import match_records, read_split_file
from keepsight.splits.groups import Grouping, parse_grouping, sample_groups
from keepsight.splits.labels import stratify_labels
from keepsight.splits.report import Move, SplitReport, achieved_ratios, per_label_counts, split_counts
from keepsight.storage.catalog import queries, writes


@dataclass
class _State:
    """The active samples with their annotations, current splits and the frozen test set."""

    rows: list[tuple[Sample, list[Annotation]]]
    splits: dict[int, str]
    paths: dict[int, str]
    frozen: set[int]
    by_id: dict[int, tuple[Sample, list[Annotation]]]

    @property
    def samples(self) -> list[Sample]:
        return [s for s, _ in self.rows]


def _state(ds: Dataset) -> _State:
    with ds.reading() as conn:
        rows = list(queries.iter_samples_with_annotations(conn))
        frozen = queries.frozen_test_ids(conn)
    by_id = {s.id: (s, a) for s, a in rows}
    return _State(rows, {s.id: s.split for s, _ in rows}, {s.id: s.path for s, _ in rows},
                  frozen & set(by_id), by_id)


def _groups(ds: Dataset, state: _State, grouping: Grouping, progress: Progress | None) -> list[list[int]]:
    similar: list[list[int]] = []
    if grouping.similarity:
        from keepsight.splits.similar import similarity_groups

        similar = similarity_groups(ds, state.rows, progress)
    return sample_groups(state.samples, grouping, similar)


def _report(action: str, state: _State, new: dict[int, str], groups: list[list[int]] | None,
            stratify: str | None = None, ratios: Ratios | None = None) -> SplitReport:
    moves = [Move(sid, state.paths[sid], state.splits[sid], new[sid]) for sid in sorted(new)
             if new[sid] != state.splits[sid]]
    multi = [g for g in groups or [] if len(g) > 1]
    report = SplitReport(
        action=action, moves=moves, counts=split_counts(new), ratios_achieved=achieved_ratios(new),
        per_class=per_label_counts(state.rows, new, lambda s, a: stratify_labels(s, a, "class")),
        groups=len(multi), grouped_samples=sum(len(g) for g in multi), largest_group=max(map(len, multi), default=1),
        straddling_before=len(straddling(state.splits, groups or [])),
        straddling_after=len(straddling(new, groups or [])),
        ratios_target=ratios.as_dict() if ratios is not None else None,
    )
    if stratify not in (None, "class", "none"):
        report.per_stratum = per_label_counts(state.rows, new, lambda s, a: stratify_labels(s, a, stratify))
    return report


def _commit(ds: Dataset, state: _State, report: SplitReport, *, reason: str | None, freeze: bool,
            config: dict[str, Any]) -> SplitReport:
    """Write the moves, pin the test set when frozen, record every move, and save the run."""
    leaving = [m for m in report.moves if m.sample_id in state.frozen]
    if leaving:  # the planners never do this; a concurrent change could
        raise ConflictError(f"{leaving[0].path} is in the frozen test set and cannot move to {leaving[0].target}; "
                            "release it first (keepsight test release)")
    final = dict(state.splits) | {m.sample_id: m.target for m in report.moves}
    test_ids = [sid for sid, split in final.items() if split == "test"]
    pin = freeze or bool(state.frozen)
    report.frozen_test = len(set(test_ids) | state.frozen) if pin else 0
    if report.dry_run:
        return report
    actor = current_user()
    reason = reason or f"keepsight split ({report.action})"
    run = start_run(ds, "split", config, fingerprint=fingerprint([config, sorted(state.splits.items())]))
    try:
        _write(ds, report, run.id, actor=actor, reason=reason, freeze=freeze, pin=pin, test_ids=test_ids,
               config=config)
    except BaseException:
        finish_run(ds, run, {"error": "nothing was moved"}, status="failed")
        raise
    report.run_id = run.id
    run.write_json("moves.json", [m.__dict__ for m in report.moves])
    summary = report.as_dict()
    summary.pop("moves")
    finish_run(ds, run, summary | {"moved": len(report.moves)})
    return report


def _write(ds: Dataset, report: SplitReport, run_id: str, *, actor: str, reason: str, freeze: bool, pin: bool,
           test_ids: list[int], config: dict[str, Any]) -> None:
    """One transaction: the moves, their events, the frozen set, the summary event."""
    with ds.transaction() as conn:
        writes.set_splits(conn, {m.sample_id: (m.source, m.target) for m in report.moves})
        writes.record_events(conn, [
            {"action": "split.move", "target": m.path,
             "details": {"sample": m.sample_id, "from": m.source, "to": m.target, "by": report.action, "run": run_id}}
            for m in report.moves
        ], actor=actor, reason=reason)
        frozen_now = writes.freeze_samples(conn, test_ids, actor=actor, reason=reason) if pin else 0
        writes.record_event(conn, f"split.{report.action}", actor=actor, reason=reason, details={
            "run": run_id, "moves": len(report.moves), "counts": report.counts, "frozen_added": frozen_now,
            "config": config})
        if freeze:
            writes.record_event(conn, "test.freeze", actor=actor, reason=reason,
                                details={"samples": len(test_ids), "added": frozen_now})


def split_dataset(
    ds: Dataset,
    *,
    ratios: Ratios | str = "70/15/15",
    stratify: str = "class",
    group: Sequence[str] = ("auto",),
    seed: int = 0,
    keep_assigned: bool = False,
    freeze_test: bool = False,
    reason: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SplitReport:
    """Assign every active sample to train/val/test, whole object groups at a time.

    Stratified by ``class`` (multi-label), ``verdict``, ``none`` or a metadata key; deterministic
    for a ``seed``. Samples of the frozen test set never move, and their groups join them in test.
    ``keep_assigned`` places only the samples in no split yet (a group already spread over
    splits is gathered where most of it is, as ``repair_split`` does).
    """
    target = parse_ratios(ratios) if isinstance(ratios, str) else ratios
    grouping = parse_grouping(group)
    state = _state(ds)
    if not state.rows:
        raise DatasetError("the dataset has no active sample to split", path=ds.root)
    groups = _groups(ds, state, grouping, progress)
    units = []
    for members in groups:
        labels: Counter[str] = Counter()
        for sid in members:
            labels.update(stratify_labels(*state.by_id[sid], stratify))
        units.append(Unit(members[0], members, labels, _pin(members, state, keep_assigned)))
    placed = assign_units(units, target, np.random.default_rng(seed))
    new = {sid: placed[u.key] for u in units for sid in u.members}
    report = _report("assign", state, new, groups, stratify, target)
    report.dry_run = dry_run
    config = {"ratios": target.as_dict(), "stratify": stratify, "group": grouping.describe(), "seed": seed,
              "keep_assigned": keep_assigned, "freeze_test": freeze_test}
    report.details = {"seed": seed, "stratify": stratify, "group": grouping.describe(), "keep_assigned": keep_assigned,
                      "pinned_groups": sum(1 for u in units if u.pinned is not None)}
    return _commit(ds, state, report, reason=reason, freeze=freeze_test, config=config)


def _pin(members: list[int], state: _State, keep_assigned: bool) -> str | None:
    if any(m in state.frozen for m in members):
        return "test"
    if not keep_assigned:
        return None
    counts = Counter(state.splits[m] for m in members if state.splits[m] in SPLIT_NAMES)
    if not counts:
        return None
    return max(counts, key=lambda s: (counts[s], -SPLIT_NAMES.index(s)))


def repair_split(
    ds: Dataset,
    *,
    group: Sequence[str] = ("auto",),
    reason: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SplitReport:
    """Remove the leaks of the current split with the fewest moves, listing every move.

    Each object group spread over several of train/val/test moves, whole, to the split that
    holds most of it (to test if it holds a frozen test sample).
    """
    grouping = parse_grouping(group)
    state = _state(ds)
    groups = _groups(ds, state, grouping, progress)
    sizes = Counter(state.splits.values())
    moves = repair_targets(state.splits, groups, state.frozen, dict(sizes))
    new = dict(state.splits) | moves
    report = _report("repair", state, new, groups)
    report.dry_run = dry_run
    report.details = {"group": grouping.describe()}
    return _commit(ds, state, report, reason=reason, freeze=False, config={"group": grouping.describe()})


def apply_split_file(
    ds: Dataset,
    specs: str | Sequence[str],
    *,
    path_field: str | None = None,
    split_field: str | None = None,
    group: Sequence[str] | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> SplitReport:
    """Set the splits that files name (``--from-file``, see :mod:`keepsight.splits.from_file`);
    frozen test samples stay in test.

    With ``group``, the report also counts the object groups the files' split leaves spread
    over several splits (its leaks; ``repair_split`` removes them).
    """
    specs = [specs] if isinstance(specs, str) else list(specs)
    records = [r for spec in specs for r in read_split_file(spec, path_field=path_field, split_field=split_field)]
    state = _state(ds)
    matched = match_records(records, state.paths, ", ".join(specs))
    new = dict(state.splits)
    kept_frozen = []
    for sid, split in matched.splits.items():
        if sid in state.frozen and split != "test":
            kept_frozen.append(state.paths[sid])
            continue
        new[sid] = split
    groups = None
    if group is not None:
        groups = _groups(ds, state, parse_grouping(group), progress)
    report = _report("file", state, new, groups)
    report.dry_run = dry_run
    report.details = {"files": specs, "records": len(records), "matched": len(matched.splits),
                      "unmatched": len(matched.unmatched), "unmatched_examples": matched.unmatched[:10],
                      "ambiguous": matched.ambiguous[:10], "kept_in_frozen_test": kept_frozen}
    return _commit(ds, state, report, reason=reason or f"split from {', '.join(specs)}", freeze=False,
                   config={"files": specs})
