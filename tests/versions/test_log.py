"""The change log records who, when and why: removals, restores, re-labels, split moves, imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.errors import ConflictError, DatasetError
from keepsight.splits import split_dataset
from keepsight.storage.catalog import queries, writes
from keepsight.versions import change_log, relabel, remove_samples, restore_samples
from tests.splits.build import dataset_with

RECORDS = [{"image": f"img_{i}.png", "annotations": [{"kind": "box", "label": "scratch", "geometry": [1, 1, 9, 9]}]}
           for i in range(6)]


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("KEEPSIGHT_USER", "ana")
    dataset = dataset_with(tmp_path, catalog_url, RECORDS)
    yield dataset
    dataset.close()


def test_removal_records_who_when_why(ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    monkeypatch.setenv("KEEPSIGHT_USER", "ben")
    with pytest.raises(DatasetError, match="needs a reason"):
        remove_samples(ds, ["img_1.png"], reason=" ")
    remove_samples(ds, ["img_1.png"], reason="defect at edge")
    assert "img_1.png" not in {s.path for s in ds.samples()}
    with ds.reading() as conn:
        row = queries.sample_by_path(conn, "img_1.png")
    assert row is not None and (row.status, row.removed_by, row.removed_reason) == ("removed", "ben", "defect at edge")
    (entry,) = change_log(ds, action="sample.remove")
    assert (entry.actor, entry.target, entry.reason) == ("ben", "img_1.png", "defect at edge")
    assert entry.at >= start
    with pytest.raises(DatasetError, match="cannot remove"):
        remove_samples(ds, ["img_1.png"], reason="again")
    restore_samples(ds, ["img_1.png"], reason="the edge defect was dust")
    assert "img_1.png" in {s.path for s in ds.samples()}
    assert [e.action for e in change_log(ds, sample="img_1.png", action="sample")] == ["sample.restore",
                                                                                         "sample.remove"]


def test_relabel_is_a_revision_with_the_class_before_and_after(ds: Dataset) -> None:
    book = ds.labelbook()
    book.add("dent", kind="box")
    ds.set_labelbook(book)
    with pytest.raises(DatasetError, match="not in the label book"):
        relabel(ds, "img_2.png", to="dnet", from_label="scratch", reason="typo")
    (uid,) = relabel(ds, "img_2.png", to="dent", from_label="scratch", reason="it is a dent")
    (entry,) = change_log(ds, action="annotation")
    assert entry.action == "annotation.update" and entry.target == "img_2.png" and entry.reason == "it is a dent"
    assert entry.details["previous_label"] == "scratch" and entry.details["label"] == "dent"
    assert entry.details["annotation"] == uid and entry.actor == "ana"
    # A concurrent edit of the same revision is refused, not overwritten.
    with ds.transaction() as conn:
        sample = queries.sample_by_path(conn, "img_2.png")
        assert sample is not None
        (ann,) = queries.annotations_of(conn, sample.id)
    with pytest.raises(ConflictError), ds.transaction() as conn:
        writes.update_annotation(conn, uid, ann, expected_revision=1, author="carl")


def test_log_filters_by_sample_action_actor_and_time(ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    split_dataset(ds, group=["none"], ratios="50/0/50", seed=0)
    monkeypatch.setenv("KEEPSIGHT_USER", "ben")
    remove_samples(ds, ["img_3.png"], reason="image carries markings")
    everything = change_log(ds, limit=None)
    assert [e.at for e in everything] == sorted((e.at for e in everything), reverse=True)
    assert {e.action for e in everything} >= {"import", "split.move", "split.assign", "sample.remove"}
    assert all(e.action.startswith("split.") for e in change_log(ds, action="split", limit=None))
    assert {e.actor for e in change_log(ds, actor="ben", limit=None)} == {"ben"}
    mine = change_log(ds, sample="img_3.png", limit=None)
    assert [e.action for e in mine][:2] == ["sample.remove", "split.move"] and mine[-1].action == "import"
    assert change_log(ds, since=datetime.now(UTC) + timedelta(hours=1)) == []
    assert len(change_log(ds, limit=2)) == 2
    with pytest.raises(DatasetError, match="no such sample"):
        change_log(ds, sample="nope.png")
