"""keepsight split on a catalog (SQLite and PostgreSQL): groups kept whole, stratified, seeded,
a frozen test set that survives later splits, leak repair, shipped split files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from keepsight.audit.runner import run_audit
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError, ParseError
from keepsight.splits import apply_split_file, freeze_test, release_test, repair_split, split_dataset
from keepsight.versions import change_log
from tests.splits.build import add_records, dataset_with, splits_by_path


def _parts(n_parts: int, per_part: int, *, classes: tuple[str, ...] = ("scratch", "dent"), prefix: str = "p",
           start: int = 0) -> list[dict[str, object]]:
    """``per_part`` captures of each of ``n_parts`` parts (metadata part_serial); classes cycle per part."""
    records = []
    for p in range(start, start + n_parts):
        for k in range(per_part):
            label = classes[p % len(classes)]
            records.append({"image": f"{prefix}{p:03d}_{k}.png", "tags": [label], "verdict": "NG",
                            "metadata": {"part_serial": f"S{p}"}})
    return records


def _groups_whole(ds: Dataset) -> bool:
    by_serial: dict[str, set[str]] = {}
    for s in ds.samples():
        by_serial.setdefault(s.metadata["part_serial"], set()).add(s.split)
    return all(len(splits) == 1 for splits in by_serial.values())


@pytest.fixture
def parts_ds(tmp_path: Path, catalog_url: str):  # type: ignore[no-untyped-def]
    ds = dataset_with(tmp_path, catalog_url, _parts(40, 3))
    yield ds
    ds.close()


def test_split_keeps_part_groups_whole_near_the_ratios(parts_ds: Dataset) -> None:
    report = split_dataset(parts_ds, ratios="70/15/15", group=["part_serial"], seed=3)
    assert _groups_whole(parts_ds)
    assert report.counts == {"train": 84, "val": 18, "test": 18}  # 40 parts of 3: 28/6/6 parts
    assert report.ratios_achieved == {"train": 0.7, "val": 0.15, "test": 0.15}
    assert report.groups == 40 and report.largest_group == 3 and report.straddling_after == 0
    # Stratified: each class is split like the whole.
    for label in ("scratch", "dent"):
        assert report.per_class[label] == {"test": 9, "train": 42, "val": 9}
    assert len(report.moves) == 120 and all(m.source == "unassigned" for m in report.moves)
    assert run_audit(parts_ds, only=["split.exact_leak"], save=False).findings == []
    moves = change_log(parts_ds, action="split.move", limit=None)
    assert len(moves) == 120 and {e.details["to"] for e in moves} == {"train", "val", "test"}


def test_split_is_deterministic_for_a_seed(parts_ds: Dataset) -> None:
    a = split_dataset(parts_ds, group=["part_serial"], seed=7, dry_run=True)
    b = split_dataset(parts_ds, group=["part_serial"], seed=7, dry_run=True)
    c = split_dataset(parts_ds, group=["part_serial"], seed=8, dry_run=True)
    assert a.moves == b.moves and a.moves != c.moves
    assert set(splits_by_path(parts_ds).values()) == {"unassigned"}  # dry runs change nothing


def test_without_grouping_a_part_is_cut(parts_ds: Dataset) -> None:
    report = split_dataset(parts_ds, group=["none"], seed=3, dry_run=True)
    new = {m.path: m.target for m in report.moves}
    serials: dict[str, set[str]] = {}
    for s in parts_ds.samples():
        serials.setdefault(s.metadata["part_serial"], set()).add(new[s.path])
    assert any(len(v) > 1 for v in serials.values())  # so the grouping above is what keeps parts whole


def test_multi_label_images_spread_every_class(tmp_path: Path) -> None:
    # 30 images; the rare class "crack" appears on only 3, each with a common class too.
    records = [{"image": f"m{i:02d}.png", "tags": ["scratch", "crack"] if i < 3 else ["scratch"]} for i in range(30)]
    with dataset_with(tmp_path, None, records) as ds:
        report = split_dataset(ds, ratios="34/33/33", group=["none"], seed=0)
    assert report.per_class["crack"] == {"test": 1, "train": 1, "val": 1}
    assert report.counts == {"train": 10, "val": 10, "test": 10}


def test_stratify_by_verdict_and_by_metadata_key(tmp_path: Path) -> None:
    records = [{"image": f"v{i:02d}.png", "verdict": "NG" if i % 5 == 0 else "OK", "metadata": {"line": f"L{i % 2}"}}
               for i in range(40)]
    with dataset_with(tmp_path, None, records) as ds:
        by_verdict = split_dataset(ds, ratios="50/0/50", stratify="verdict", group=["none"], seed=1)
        assert by_verdict.per_stratum == {"NG": {"test": 4, "train": 4}, "OK": {"test": 16, "train": 16}}
        by_line = split_dataset(ds, ratios="50/0/50", stratify="line", group=["none"], seed=1, dry_run=True)
        assert by_line.per_stratum == {"L0": {"test": 10, "train": 10}, "L1": {"test": 10, "train": 10}}


def test_path_pattern_groups_a_time_lapse(tmp_path: Path) -> None:
    records = [{"image": f"01_{t:04d}_{spot}_crop.png"} for spot in ("277500_315", "477500_315", "395000_270")
               for t in range(6)]
    with dataset_with(tmp_path, None, records) as ds:
        report = split_dataset(ds, ratios="34/33/33", group=[r"path:_(\d+_\d+)_crop"], seed=2)
        by_spot: dict[str, set[str]] = {}
        for s in ds.samples():
            by_spot.setdefault(s.path.split("_", 2)[2], set()).add(s.split)
    assert report.groups == 3 and all(len(v) == 1 for v in by_spot.values())
    assert sorted(report.counts.values()) == [6, 6, 6]


def test_frozen_test_survives_later_imports_and_splits(parts_ds: Dataset, tmp_path: Path) -> None:
    first = split_dataset(parts_ds, group=["part_serial"], seed=3, freeze_test=True, reason="release 1 test set")
    frozen = {p for p, s in splits_by_path(parts_ds).items() if s == "test"}
    assert first.frozen_test == len(frozen) == 18
    test_serial = next(s.metadata["part_serial"] for s in parts_ds.samples() if s.split == "test")
    serial_no = int(test_serial[1:])
    # New images: a re-capture of a test part, and ten new parts.
    later = [{"image": f"new_{serial_no}.png", "tags": ["dent"], "metadata": {"part_serial": test_serial}}]
    later += _parts(10, 3, prefix="q", start=100)
    add_records(parts_ds, tmp_path, later, start=1000, name="later")
    second = split_dataset(parts_ds, group=["part_serial"], seed=99)
    now = splits_by_path(parts_ds)
    assert all(now[p] == "test" for p in frozen)
    assert now[f"new_{serial_no}.png"] == "test"
    assert _groups_whole(parts_ds)
    # The re-capture, and new parts placed in test to keep the ratios, joined the frozen set.
    assert second.frozen_test == sum(1 for s in now.values() if s == "test") >= 19
    assert not any(m.source == "test" for m in second.moves)
    # Leaving needs an explicit, recorded action.
    with pytest.raises(DatasetError, match="reason"):
        release_test(parts_ds, [sorted(frozen)[0]], reason="")
    released = release_test(parts_ds, [f"new_{serial_no}.png"], reason="mislabelled capture")
    assert released == [f"new_{serial_no}.png"]
    entry = change_log(parts_ds, action="test.release")[0]
    assert entry.reason == "mislabelled capture" and entry.target == f"new_{serial_no}.png"
    # Its part's other captures are still frozen in test: the group keeps it there.
    split_dataset(parts_ds, group=["part_serial"], seed=5)
    assert splits_by_path(parts_ds)[f"new_{serial_no}.png"] == "test"


def test_keep_assigned_places_only_new_samples(parts_ds: Dataset, tmp_path: Path) -> None:
    split_dataset(parts_ds, group=["part_serial"], seed=3)
    before = splits_by_path(parts_ds)
    add_records(parts_ds, tmp_path, _parts(20, 1, prefix="n", start=200), start=2000, name="more")
    report = split_dataset(parts_ds, group=["part_serial"], seed=3, keep_assigned=True)
    after = splits_by_path(parts_ds)
    assert all(after[p] == s for p, s in before.items())
    assert {m.path for m in report.moves} == {p for p in after if p.startswith("n")}
    assert Counter(after[p] for p in after if p.startswith("n"))["train"] >= 10


def test_repair_moves_the_smaller_side_of_each_leaking_group(tmp_path: Path, catalog_url: str) -> None:
    records = []
    # Part A: 3 captures in train, 1 in test. Part B: 1 train, 2 val. Part C whole in test. Same bytes twice.
    for name, serial, split in [("a1", "A", "train"), ("a2", "A", "train"), ("a3", "A", "train"), ("a4", "A", "test"),
                                ("b1", "B", "train"), ("b2", "B", "val"), ("b3", "B", "val"),
                                ("c1", "C", "test"), ("c2", "C", "test")]:
        records.append({"image": f"{name}.png", "split": split, "metadata": {"part_serial": serial}})
    records += [{"image": "d1.png", "split": "train", "seed": 77}, {"image": "d2.png", "split": "test", "seed": 77}]
    with dataset_with(tmp_path, catalog_url, records) as ds:
        assert len(run_audit(ds, only=["split.exact_leak"], save=False).findings) == 1
        report = repair_split(ds, group=["part_serial"])
        moves = {(m.path, m.source, m.target) for m in report.moves}
        # The identical pair is a tie: it goes to the smaller split (test holds 4 samples, train 5).
        assert moves == {("a4.png", "test", "train"), ("b1.png", "train", "val"), ("d1.png", "train", "test")}
        assert report.straddling_before == 3 and report.straddling_after == 0
        assert run_audit(ds, only=["split.exact_leak"], save=False).findings == []
        assert len(change_log(ds, action="split.move")) == 3
        again = repair_split(ds, group=["part_serial"])
        assert again.moves == []


def test_repair_never_moves_a_frozen_test_sample(tmp_path: Path) -> None:
    records = [{"image": f"a{i}.png", "split": s, "metadata": {"part_serial": "A"}}
               for i, s in enumerate(["train", "train", "train", "test"])]
    with dataset_with(tmp_path, None, records) as ds:
        freeze_test(ds, reason="customer acceptance set")
        report = repair_split(ds, group=["part_serial"])
        assert {m.target for m in report.moves} == {"test"} and len(report.moves) == 3
        assert set(splits_by_path(ds).values()) == {"test"}


def test_from_file_applies_a_shipped_split(tmp_path: Path, catalog_url: str) -> None:
    records = [{"image": f"data/img_{i}.jpg"} for i in range(6)]
    with dataset_with(tmp_path, catalog_url, records) as ds:
        meta = tmp_path / "image_data.json"  # BSData's layout: file names without the data/ folder, null = no split
        meta.write_text(json.dumps({"images": [
            {"filename": "img_0.jpg", "train_test_split": "train"},
            {"filename": "img_1.jpg", "train_test_split": "test"},
            {"filename": "img_2.jpg", "train_test_split": None},
            {"filename": "gone.jpg", "train_test_split": "train"},
        ]}), encoding="utf-8")
        report = apply_split_file(ds, str(meta))
        assert splits_by_path(ds)["data/img_0.jpg"] == "train" and splits_by_path(ds)["data/img_1.jpg"] == "test"
        assert report.details["unmatched"] == 1 and report.details["matched"] == 3
        listing = tmp_path / "val.txt"
        listing.write_text("data/img_3.jpg\nimg_4.jpg extra-columns-ignored\n", encoding="utf-8")
        apply_split_file(ds, f"{listing}=val")
        csv_file = tmp_path / "split.csv"
        csv_file.write_text("path,subset\ndata/img_5.jpg,validation\n", encoding="utf-8")
        apply_split_file(ds, str(csv_file))
        got = splits_by_path(ds)
        assert [got[f"data/img_{i}.jpg"] for i in range(6)] == ["train", "test", "unassigned", "val", "val", "val"]
        # A frozen test sample stays in test whatever the file says.
        freeze_test(ds, reason="lock")
        flip = tmp_path / "flip.json"
        flip.write_text(json.dumps({"data/img_1.jpg": "train"}), encoding="utf-8")
        report = apply_split_file(ds, str(flip))
        assert report.details["kept_in_frozen_test"] == ["data/img_1.jpg"] and report.moves == []


def test_bad_split_input_is_refused_clearly(tmp_path: Path) -> None:
    with dataset_with(tmp_path, None, [{"image": "a.png"}]) as ds:
        with pytest.raises(DatasetError, match="ratios"):
            split_dataset(ds, ratios="70/abc")
        with pytest.raises(DatasetError, match="regular expression"):
            split_dataset(ds, group=["path:("])
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"a.png": "holdout"}), encoding="utf-8")
        with pytest.raises(ParseError, match="unknown split"):
            apply_split_file(ds, str(bad))
        with pytest.raises(DatasetError, match="not found"):
            apply_split_file(ds, str(tmp_path / "nope.json"))
        with pytest.raises(DatasetError, match="no test sample"):
            freeze_test(ds)


def test_a_concurrent_move_aborts_the_split_and_nothing_moves(parts_ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    import keepsight.splits.api as split_api
    from keepsight.errors import ConflictError
    from keepsight.runs import list_runs
    from keepsight.storage.catalog import writes

    real_groups = split_api._groups

    def groups_then_someone_moves_a_sample(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_groups(*args, **kwargs)
        with parts_ds.transaction() as conn:  # another writer, between the plan and the write
            writes.set_splits(conn, {1: ("unassigned", "val")})
        return out

    monkeypatch.setattr(split_api, "_groups", groups_then_someone_moves_a_sample)
    with pytest.raises(ConflictError, match="changed split meanwhile"):
        split_dataset(parts_ds, group=["part_serial"], seed=3)
    splits = splits_by_path(parts_ds)
    assert splits.pop("p000_0.png") == "val" and set(splits.values()) == {"unassigned"}
    assert change_log(parts_ds, action="split") == []
    assert [r.status for r in list_runs(parts_ds, "split")] == ["failed"]
