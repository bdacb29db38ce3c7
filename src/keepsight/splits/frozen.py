"""The frozen test set: once frozen, no split, repair or split file moves its samples.

While a freeze is in effect, every sample that enters test joins the frozen set (a new image
whose object group is already in test goes to test, and stays there). A sample leaves the set
only by an explicit, recorded action: ``release_test`` (then the next split may place it
elsewhere) or removing the sample from the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from keepsight.dataset import Dataset, current_user
from keepsight.errors import DatasetError
from keepsight.storage.catalog import queries, writes
from keepsight.storage.catalog.tables import frozen_test, samples


@dataclass
class FrozenTest:
    samples: int
    first_frozen_at: datetime | None
    last_frozen_at: datetime | None


def frozen_test_info(ds: Dataset) -> FrozenTest:
    with ds.reading() as conn:
        n, first, last = conn.execute(
            select(func.count(), func.min(frozen_test.c.frozen_at), func.max(frozen_test.c.frozen_at))
        ).one()
    return FrozenTest(int(n), _utc(first), _utc(last))


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; keepsight stores UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def freeze_test(ds: Dataset, *, reason: str | None = None) -> int:
    """Freeze every active sample now in test; returns how many joined the frozen set."""
    actor = current_user()
    with ds.transaction() as conn:
        test_ids = [sid for sid, split in queries.sample_splits(conn).items() if split == "test"]
        if not test_ids:
            raise DatasetError("there is no test sample to freeze; split the dataset first (keepsight split)")
        added = writes.freeze_samples(conn, test_ids, actor=actor, reason=reason)
        writes.record_event(conn, "test.freeze", actor=actor, reason=reason,
                            details={"samples": len(test_ids), "added": added})
    return added


def release_test(ds: Dataset, paths: Sequence[str] = (), *, reason: str, everything: bool = False) -> list[str]:
    """Take samples (or, with ``everything``, the whole set) out of the frozen test set, with a reason.

    They stay in test until a later split places them; a released sample whose object group
    still holds frozen samples stays in test with them.
    """
    if not reason or not reason.strip():
        raise DatasetError("releasing frozen test samples needs a reason (--reason)")
    actor = current_user()
    with ds.transaction() as conn:
        frozen = queries.frozen_test_ids(conn)
        if everything:
            chosen = {int(sid): str(path) for sid, path in conn.execute(
                select(samples.c.id, samples.c.path).join(frozen_test, frozen_test.c.sample_id == samples.c.id))}
        else:
            chosen = {}
            for path in paths:
                sample = queries.sample_by_path(conn, path)
                if sample is None:
                    raise DatasetError("no such sample in the dataset", path=path)
                if sample.id not in frozen:
                    raise DatasetError("not in the frozen test set", path=path)
                chosen[sample.id] = path
        writes.unfreeze_samples(conn, chosen)
        writes.record_events(conn, [{"action": "test.release", "target": path, "details": {"sample": sid}}
                                    for sid, path in sorted(chosen.items())], actor=actor, reason=reason)
    return sorted(chosen.values())
