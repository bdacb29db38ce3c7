"""Import behaviour on both catalog backends and both blob stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from keepsight import Dataset, dataset_info, import_path
from keepsight.errors import AnnotationError, DatasetError, ImageError, UnknownFormatError
from keepsight.storage.catalog import queries, writes
from keepsight.storage.catalog.tables import annotations, blobs, samples
from tests.conftest import write_image


@pytest.fixture
def ds(tmp_path: Path, catalog_url: str, blob_url: str):  # type: ignore[no-untyped-def]
    dataset = Dataset.init(tmp_path / "ds", catalog=catalog_url, blobs=blob_url)
    yield dataset
    dataset.close()


def make_class_folders(root: Path, per_class: int = 3) -> Path:
    for c, name in enumerate(["scratch", "chip", "OK"]):
        for i in range(per_class):
            write_image(root / name / f"{name}_{i}.png", seed=c * 100 + i)
    return root


def catalog_snapshot(ds: Dataset) -> list[tuple]:
    with ds.reading() as conn:
        return sorted(
            (s.path, s.blob, s.split, s.verdict, s.status, tuple(sorted((a.kind, a.label) for a in anns)))
            for s, anns in queries.iter_samples_with_annotations(conn)
        )


def test_import_is_idempotent_and_counts_are_right(ds: Dataset, tmp_path: Path) -> None:
    src = make_class_folders(tmp_path / "src")
    first = import_path(ds, src)
    assert (first.format, first.added, first.annotations) == ("image_folder", 9, 6)
    before = catalog_snapshot(ds)
    again = import_path(ds, src)
    assert (again.added, again.unchanged) == (0, 9)
    assert catalog_snapshot(ds) == before
    info = dataset_info(ds)
    assert info["samples"] == 9
    assert info["annotations"]["tag"] == 6
    assert info["classes"] == {"scratch": 3, "chip": 3}
    assert info["verdicts"] == {"OK": 3}
    assert ds.labelbook().classes["scratch"].kinds == ["tag"]
    assert "scratch" in (ds.root / "labelbook.yaml").read_text()


def test_identical_bytes_under_two_names_are_stored_once_and_both_names_kept(ds: Dataset, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_image(src / "a" / "one.png", seed=7)
    (src / "b").mkdir()
    (src / "b" / "copy_of_one.png").write_bytes((src / "a" / "one.png").read_bytes())
    import_path(ds, src, format="image_folder")
    with ds.reading() as conn:
        paths = sorted(r[0] for r in conn.execute(select(samples.c.path)))
        n_blobs = conn.execute(select(func.count()).select_from(blobs)).scalar_one()
    assert paths == ["a/one.png", "b/copy_of_one.png"]
    assert n_blobs == 1


def test_split_option_overrides_and_unknown_split_is_refused(ds: Dataset, tmp_path: Path) -> None:
    src = make_class_folders(tmp_path / "src", per_class=1)
    import_path(ds, src, split="validation")
    assert dataset_info(ds)["splits"] == {"val": 3}
    with pytest.raises(AnnotationError, match="unknown split"):
        import_path(ds, src, split="holdout")


@pytest.mark.parametrize(
    ("bad_name", "make_bad", "reason"),
    [
        ("empty.png", lambda p: p.write_bytes(b""), "empty \\(0 bytes\\)"),
        ("truncated.jpg", lambda p: p.write_bytes(write_image(p.with_suffix(".tmp.jpg"), size=(400, 300))
                                                  .read_bytes()[:2000]), "truncated or corrupt"),
        ("garbage.png", lambda p: p.write_bytes(b"this is not an image at all" * 10), "not a readable image"),
        ("notes.tga", lambda p: p.write_bytes(b"whatever"), None),  # not an image extension: not listed by folders
    ],
)
def test_bad_image_fails_fast_with_nothing_written(ds: Dataset, tmp_path: Path, bad_name, make_bad, reason) -> None:
    src = make_class_folders(tmp_path / "src", per_class=2)
    bad = src / "scratch" / bad_name
    make_bad(bad)
    for leftover in src.rglob("*.tmp.jpg"):
        leftover.unlink()
    if reason is None:
        assert import_path(ds, src).added == 6
        return
    with pytest.raises(ImageError, match=reason) as info:
        import_path(ds, src)
    assert f"scratch/{bad_name}" in str(info.value)
    assert dataset_info(ds)["samples"] == 0
    with ds.reading() as conn:
        assert conn.execute(select(func.count()).select_from(samples)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(annotations)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(blobs)).scalar_one() == 0
    if ds.blobs.local_path("0" * 64) is not None:
        assert not [p for p in Path(ds.blobs.url.removeprefix("file://")).rglob("*") if p.is_file()]


def test_skip_bad_imports_the_rest_and_records_each_problem(ds: Dataset, tmp_path: Path) -> None:
    src = make_class_folders(tmp_path / "src", per_class=2)
    (src / "chip" / "empty.png").write_bytes(b"")
    (src / "chip" / "junk.jpg").write_bytes(b"\xff\xd8\xff garbage")
    report = import_path(ds, src, skip_bad=True)
    assert report.added == 6
    assert sorted(p.path for p in report.problems) == ["chip/empty.png", "chip/junk.jpg"]
    with ds.reading() as conn:
        recorded = queries.list_problems(conn)
    assert sorted((p["path"], p["code"]) for p in recorded) == [("chip/empty.png", "image"), ("chip/junk.jpg", "image")]
    assert dataset_info(ds)["import_problems"] == 2


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    ds = Dataset.init(tmp_path / "ds")
    cfg = (ds.root / "keepsight.yaml").read_text().replace("max_pixels: 100000000", "max_pixels: 10000")
    (ds.root / "keepsight.yaml").write_text(cfg)
    ds = Dataset.open(ds.root)
    src = tmp_path / "src"
    write_image(src / "big" / "huge.png", size=(200, 100))
    with pytest.raises(ImageError, match="20,000 pixels, over the cap of 10,000"):
        import_path(ds, src, format="image_folder")
    assert dataset_info(ds)["samples"] == 0


def test_unknown_source_gets_reasons_from_every_format(tmp_path: Path) -> None:
    ds = Dataset.init(tmp_path / "ds")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnknownFormatError, match="image_folder: no sub-folders"):
        import_path(ds, tmp_path / "empty")


def test_an_unfinished_run_is_resumed_not_duplicated(ds: Dataset, tmp_path: Path) -> None:
    """Simulate a crash after the first batch was staged, then rerun."""
    src = make_class_folders(tmp_path / "src", per_class=4)
    reference_ds = Dataset.init(tmp_path / "ref")
    reference = import_path(reference_ds, src)
    ds.config.ingest.batch_size = 5

    class Crash(BaseException):
        pass

    calls = {"n": 0}
    real = writes.stage_sample

    def crash_on_seventh(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 7:
            raise Crash
        return real(*args, **kwargs)

    writes.stage_sample, saved = crash_on_seventh, writes.stage_sample
    try:
        with pytest.raises(Crash):
            import_path(ds, src)
    finally:
        writes.stage_sample = saved
    assert dataset_info(ds)["samples"] == 0  # staged rows stay invisible
    report = import_path(ds, src)
    assert report.resumed_from == 5 and report.added == 7
    assert dataset_info(ds)["samples"] == reference.added == 12
    assert catalog_snapshot(ds) == catalog_snapshot(reference_ds)


def test_labelbook_file_edits_are_loaded_into_the_catalog(tmp_path: Path) -> None:
    ds = Dataset.init(tmp_path / "ds")
    import_path(ds, make_class_folders(tmp_path / "src", per_class=1))
    import yaml

    book = yaml.safe_load((ds.root / "labelbook.yaml").read_text())
    book["classes"]["scratch"]["orientation"] = "directed"
    (ds.root / "labelbook.yaml").write_text(yaml.safe_dump(book))
    reopened = Dataset.open(ds.root)
    assert reopened.labelbook().classes["scratch"].orientation == "directed"
    (ds.root / "labelbook.yaml").write_text("classes: [1, 2")
    with pytest.raises(DatasetError, match="invalid label book"):
        Dataset.open(ds.root)


def test_info_json_shape(ds: Dataset, tmp_path: Path) -> None:
    import_path(ds, make_class_folders(tmp_path / "src", per_class=1))
    info = json.loads(json.dumps(dataset_info(ds)))
    assert set(info["annotations"]) >= {"box", "rotated_box", "polygon", "polyline", "mask", "tag"}
    assert info["splits"] == {"unassigned": 3}
