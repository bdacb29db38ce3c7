"""Changes that need a reason: removing and restoring images, re-labelling annotations.

Each writes the change and its event (who, when, why) in one transaction; ``keepsight log``
shows them. A removed image keeps its catalog row (status ``removed``, with who, when and
why), so versions that hold it can still be exported and the reason stays on record.
"""

from __future__ import annotations

from collections.abc import Sequence

from keepsight.dataset import Dataset, current_user
from keepsight.errors import DatasetError, StorageError
from keepsight.model.annotation import Annotation
from keepsight.storage.catalog import queries, writes


def _need_reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise DatasetError(f"{what} needs a reason (--reason), e.g. \"defect at edge\" or \"image carries markings\"")
    return reason.strip()


def remove_samples(ds: Dataset, paths: Sequence[str], *, reason: str) -> list[str]:
    """Take images out of the dataset (they leave the frozen test set too), recording why."""
    reason = _need_reason(reason, "removing an image")
    actor = current_user()
    with ds.transaction() as conn:
        frozen = queries.frozen_test_ids(conn)
        for path in paths:
            sample = queries.sample_by_path(conn, path)
            if sample is None or sample.status != "active":
                state = "no such sample" if sample is None else f"the sample is {sample.status}"
                raise DatasetError(f"cannot remove: {state}", path=path)
            writes.set_sample_status(conn, sample.id, removed=True, actor=actor, reason=reason)
            was_frozen = sample.id in frozen
            if was_frozen:
                writes.unfreeze_samples(conn, [sample.id])
            writes.record_event(conn, "sample.remove", actor=actor, target=path, reason=reason,
                                details={"sample": sample.id, "split": sample.split, "blob": sample.blob,
                                         "frozen_test": was_frozen})
    return list(paths)


def restore_samples(ds: Dataset, paths: Sequence[str], *, reason: str) -> list[str]:
    """Bring removed images back (if their bytes are still stored), recording why."""
    reason = _need_reason(reason, "restoring an image")
    actor = current_user()
    with ds.transaction() as conn:
        frozen_in_effect = bool(queries.frozen_test_ids(conn))
        for path in paths:
            sample = queries.sample_by_path(conn, path)
            if sample is None or sample.status != "removed":
                state = "no such sample" if sample is None else f"the sample is {sample.status}"
                raise DatasetError(f"cannot restore: {state}", path=path)
            if not ds.blobs.exists(sample.blob):
                raise StorageError(f"cannot restore: its image bytes ({sample.blob[:12]}...) were garbage-collected",
                                   path=path)
            writes.set_sample_status(conn, sample.id, removed=False, actor=actor, reason=reason)
            if frozen_in_effect and sample.split == "test":
                writes.freeze_samples(conn, [sample.id], actor=actor, reason=reason)
            writes.record_event(conn, "sample.restore", actor=actor, target=path, reason=reason,
                                details={"sample": sample.id, "split": sample.split})
    return list(paths)


def relabel(ds: Dataset, path: str, *, to: str, reason: str, from_label: str | None = None,
            uid: str | None = None) -> list[str]:
    """Change the class of a sample's annotations (all of ``from_label``, or the one ``uid``).

    Each edit is a new annotation revision (optimistic locking: a concurrent edit is refused,
    never overwritten); returns the uids changed.
    """
    reason = _need_reason(reason, "re-labelling")
    if from_label is None and uid is None:
        raise DatasetError("say which annotations to re-label: --from CLASS or --uid UID")
    if to not in ds.labelbook():
        raise DatasetError(f"class {to!r} is not in the label book; add it to labelbook.yaml first",
                           path=ds.labelbook_path)
    actor = current_user()
    changed: list[str] = []
    with ds.transaction() as conn:
        sample = queries.sample_by_path(conn, path)
        if sample is None or sample.status != "active":
            raise DatasetError("no such active sample", path=path)
        for ann in queries.annotations_of(conn, sample.id):
            if (uid is not None and ann.uid != uid) or (from_label is not None and ann.label != from_label):
                continue
            if ann.label == to:
                continue
            if ann.uid is None or ann.revision is None:
                raise StorageError("a stored annotation has no uid or revision", path=path)
            new = Annotation(label=to, geometry=ann.geometry, attributes=dict(ann.attributes))
            # The revision row is the record (who, when, why, the class before and after): see versions.log.
            writes.update_annotation(conn, ann.uid, new, expected_revision=ann.revision, author=actor, reason=reason)
            changed.append(ann.uid)
        if not changed:
            what = f"annotation {uid}" if uid else f"annotation of class {from_label!r}"
            raise DatasetError(f"no {what} to re-label on this sample", path=path)
    return changed
