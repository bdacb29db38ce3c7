"""Each bad-input case gets a clear error naming the file and element, and nothing is written;
with --skip-bad the rest is imported and each problem is recorded. Driven through the
manifest format (any format's reader feeds the same importer checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from keepsight import Dataset, dataset_info, import_path
from keepsight.errors import AnnotationError, ImageError, KeepsightError, ParseError, UnsafePathError
from keepsight.storage.catalog import queries
from keepsight.storage.catalog.tables import annotations, blobs, samples
from tests.conftest import write_image

HEADER = {"format": "keepsight-manifest", "version": 1,
          "labelbook": {"classes": {"scratch": {"name": "scratch"}}}}


def good_record(i: int) -> dict:
    return {"image": f"img/{i}.png", "split": "train",
            "annotations": [{"kind": "box", "label": "scratch", "geometry": [1, 1, 10, 10]}]}


BAD_CASES = {
    "missing image": ({"image": "img/absent.png"}, ImageError, "does not exist"),
    "undeclared class": ({"image": "img/3.png", "annotations": [
        {"kind": "box", "label": "dent", "geometry": [1, 1, 5, 5]}]}, AnnotationError, "'dent' is not declared"),
    "NaN coordinate": ({"image": "img/4.png", "annotations": [
        {"kind": "box", "label": "scratch", "geometry": [1, "NaN", 5, 5]}]}, AnnotationError, "NaN"),
    "out of the image": ({"image": "img/5.png", "annotations": [
        {"kind": "box", "label": "scratch", "geometry": [100, 100, 150, 120]}]}, AnnotationError, "out of the 32x24 image"),
    "path escapes the root": ({"image": "../outside.png"}, UnsafePathError, "escapes the dataset root"),
    "absolute path": ({"image": "/etc/passwd.png"}, UnsafePathError, "absolute path"),
}


def make_manifest(root: Path, bad: dict | None, *, malformed: bool = False) -> Path:
    for i in range(6):
        write_image(root / "img" / f"{i}.png", seed=i)
    write_image(root.parent / "outside.png")
    lines = [json.dumps(HEADER), json.dumps(good_record(0)), json.dumps(good_record(1))]
    if bad is not None:
        lines.append(json.dumps(bad))
    if malformed:
        lines.append('{"image": "img/3.png", ')
    lines.append(json.dumps(good_record(2)))
    (root / "keepsight-manifest.jsonl").write_text("\n".join(lines) + "\n")
    return root


def assert_nothing_written(ds: Dataset) -> None:
    with ds.reading() as conn:
        for table in (samples, annotations, blobs):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table.name
    assert dataset_info(ds)["classes"] == {}
    store = ds.blobs.local_path("0" * 64)
    assert store is not None and not [p for p in store.parents[2].rglob("*") if p.is_file()]


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_fail_fast_names_file_and_element_and_writes_nothing(tmp_path: Path, case: str) -> None:
    bad, error_type, reason = BAD_CASES[case]
    src = make_manifest(tmp_path / "src", bad)
    ds = Dataset.init(tmp_path / "ds")
    with pytest.raises(error_type, match=reason) as info:
        import_path(ds, src)
    message = info.value.message
    assert "keepsight-manifest.jsonl" in message or "absent.png" in message
    assert "line 4" in message or "absent.png" in message
    assert_nothing_written(ds)


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    src = make_manifest(tmp_path / "src", None, malformed=True)
    ds = Dataset.init(tmp_path / "ds")
    with pytest.raises(ParseError, match="line 4") as info:
        import_path(ds, src)
    assert "keepsight-manifest.jsonl" in info.value.message
    assert_nothing_written(ds)


def test_skip_bad_imports_the_rest_and_records_every_problem(tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_manifest(src, None)
    lines = (src / "keepsight-manifest.jsonl").read_text().splitlines()
    lines[3:3] = [json.dumps(bad) for bad, _, _ in BAD_CASES.values()]
    (src / "keepsight-manifest.jsonl").write_text("\n".join(lines) + "\n")
    ds = Dataset.init(tmp_path / "ds")
    report = import_path(ds, src, skip_bad=True)
    assert len(report.problems) == len(BAD_CASES)
    with ds.reading() as conn:
        recorded = queries.list_problems(conn)
    assert len(recorded) == len(BAD_CASES)
    assert {p["code"] for p in recorded} == {"missingfile", "annotation", "unsafepath"}
    # The good images, and img/3-5.png whose bad annotations were dropped, are in.
    assert dataset_info(ds)["samples"] == 6
    assert dataset_info(ds)["annotations"]["box"] == 3


def test_a_region_cut_by_the_border_is_kept_but_one_mostly_outside_is_refused(tmp_path: Path) -> None:
    src = make_manifest(tmp_path / "src", {"image": "img/3.png", "annotations": [
        {"kind": "rotated_box", "label": "scratch", "geometry": [2, 12, 8, 6, 45]}]})
    ds = Dataset.init(tmp_path / "ds")
    assert import_path(ds, src).annotations == 4  # corners stick out of the 32x24 image by ~0.1 px
    src2 = make_manifest(tmp_path / "src2", {"image": "img/3.png", "annotations": [
        {"kind": "box", "label": "scratch", "geometry": [-20, 2, 4, 10]}]})
    with pytest.raises(AnnotationError, match="out of the 32x24 image"):
        import_path(Dataset.init(tmp_path / "ds2"), src2)


def test_errors_carry_structured_fields() -> None:
    err = AnnotationError("bad", path="a.json", element="line 3")
    assert (err.path, err.element, err.code, err.message) == ("a.json", "line 3", "annotation", "a.json (line 3): bad")
    assert isinstance(err, KeepsightError)
