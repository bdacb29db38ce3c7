"""manifest adapter: lossless round trip of every kind and field, JSONL and CSV reading, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import KINDS, Annotation, LabelBook, Sample
from tests.formats.conformance import FormatConformance, assert_same_annotations, make_geometry

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
VOTT = DATA / "datumaro-test-assets" / "tests" / "assets" / "vott_csv_dataset" / "dataset"
FMT = get_format("manifest")


class TestManifestConformance(FormatConformance):
    format_name = "manifest"
    kinds = list(KINDS)


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


def _jsonl(root: Path, *lines: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "keepsight-manifest.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


# --- round trip of everything -----------------------------------------------------------------


def test_everything_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    book = LabelBook()
    book.add("scratch", kind="box", orientation="directed", description="long thin mark", is_defect=True)
    book.add("chip", colour="#123456")
    image = tmp_path / "src.png"
    Image.fromarray(np.zeros((48, 64, 3), dtype=np.uint8)).save(image)
    annotations = [
        Annotation(
            "scratch" if i % 2 else "chip",
            make_geometry(kind, rng, 64, 48),
            attributes={"n": i, "text": "é"} if i % 3 else {},
        )
        for i, kind in enumerate(KINDS)
    ]
    sample = Sample(
        id=7,
        path="line 2/cam1/a.png",
        blob="0" * 64,
        width=64,
        height=48,
        mode="RGB",
        format="PNG",
        split="val",
        verdict="NG",
        metadata={"camera": "c1", "part_serial": "A17", "lot": {"n": 3}},
    )
    ctx = WriteContext()
    FMT.write(MemoryView(book, [(sample, annotations, image)]), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert not ctx.losses
    assert FMT.detect(tmp_path / "out").confidence >= 0.9
    reading = FMT.read(tmp_path / "out", ReadContext())
    assert reading.classes_declared and reading.labelbook == book
    (item,) = reading.items
    assert (item.path, item.split, item.verdict, item.metadata) == (sample.path, "val", "NG", sample.metadata)
    assert item.expected_size == (64, 48) and item.source == tmp_path / "out" / "line 2" / "cam1" / "a.png"
    assert item.source.is_file()
    assert_same_annotations(annotations, item.annotations, tol=0)


# --- reading ----------------------------------------------------------------------------------


def test_jsonl_without_header(tmp_path: Path) -> None:
    _jsonl(
        tmp_path,
        {"image": "./imgs/a.png", "tags": ["scratch"], "verdict": "bad", "split": "valid"},
        "",
        {"image": "imgs/b.png", "annotations": [{"kind": "tag", "label": "ok-part", "attributes": {"q": 1}}]},
    )
    reading = FMT.read(tmp_path, ReadContext())
    assert not reading.classes_declared and reading.labelbook.names() == []
    a, b = reading.items
    assert (a.path, a.verdict, a.split, a.origin, a.element) == (
        "imgs/a.png",
        "NG",
        "val",
        "keepsight-manifest.jsonl",
        "line 1",
    )
    assert [(x.kind, x.label) for x in a.annotations] == [("tag", "scratch")]
    assert (b.element, b.split, b.verdict, b.annotations[0].attributes) == ("line 3", None, None, {"q": 1})


def test_csv(tmp_path: Path) -> None:
    (tmp_path / "keepsight-manifest.csv").write_text(
        'image,split,verdict,tags,camera,part_serial\na.png,train,OK,,c1,A17\nb.png,test,NG,"scratch; chip",c2,\n'
    )
    assert FMT.detect(tmp_path).confidence >= 0.9
    a, b = _read(tmp_path)
    assert (a.path, a.split, a.verdict, a.annotations, a.metadata) == (
        "a.png",
        "train",
        "OK",
        [],
        {"camera": "c1", "part_serial": "A17"},
    )
    assert [x.label for x in b.annotations] == ["scratch", "chip"] and b.metadata == {"camera": "c2"}
    assert b.element == "line 3"


def test_third_party_csv_given_directly() -> None:
    """A VoTT export has an 'image' column: accepted when given directly, below the specific formats."""
    if not VOTT.exists():
        pytest.skip(f"../shared/data is absent: {VOTT} not found")
    csv_file = VOTT / "train-export.csv"
    detection = FMT.detect(csv_file)
    assert 0 < detection.confidence < 0.8
    assert FMT.detect(VOTT).confidence == 0  # not our file name: a folder is not claimed
    items = _read(csv_file)
    assert [i.path for i in items] == ["img0003.jpg", "img0004.jpg", "img0003.jpg"]
    assert items[0].metadata == {"xmin": "6.7", "ymin": "10.3", "xmax": "10", "ymax": "15", "label": "helmet"}
    assert all(isinstance(i.source, Path) and i.source.is_file() for i in items)


def test_detect_rejects(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("file,label\na.png,x\n")
    (tmp_path / "notes.jsonl").write_text('{"path": "a.png"}\n')
    for path in (tmp_path, tmp_path / "labels.csv", tmp_path / "notes.jsonl"):
        detection = FMT.detect(path)
        assert detection.confidence == 0 and detection.reasons


# --- bad input --------------------------------------------------------------------------------

GOOD = {"image": "ok.png", "annotations": [{"kind": "box", "label": "scratch", "geometry": [1, 2, 3, 4]}]}


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ('{"image": "a.png", ', ParseError, "invalid JSON"),
        ('["a.png"]', ParseError, "must be a JSON object"),
        ({"image": "a.png", "annotation": []}, ParseError, "unknown record keys ['annotation']"),
        ({"split": "train"}, ParseError, "'image'"),
        ({"image": "../outside.png"}, UnsafePathError, "escapes the dataset root"),
        ({"image": "/etc/passwd"}, UnsafePathError, "absolute path"),
        ({"image": "a.png", "split": "holdout"}, AnnotationError, "unknown split"),
        ({"image": "a.png", "verdict": "maybe"}, AnnotationError, "unknown verdict"),
        ({"image": "a.png", "tags": "scratch"}, ParseError, "'tags' must be a list"),
        ({"image": "a.png", "width": 10}, ParseError, "'width' and 'height'"),
    ],
)
def test_bad_line(tmp_path: Path, bad: object, error: type, words: str) -> None:
    manifest = _jsonl(tmp_path, GOOD, bad, GOOD | {"image": "ok2.png"})
    with pytest.raises(error) as info:
        _read(tmp_path)
    assert words in str(info.value)
    assert (info.value.path, info.value.element) == (str(manifest), "line 2")
    ctx = ReadContext(skip_bad=True)
    assert [i.path for i in _read(tmp_path, ctx)] == ["ok.png", "ok2.png"]
    assert len(ctx.problems) == 1 and isinstance(ctx.problems[0], error)


@pytest.mark.parametrize(
    ("annotation", "words"),
    [
        ({"kind": "box", "label": "scratch", "geometry": [1, 2, float("nan"), 4]}, "NaN"),
        ({"kind": "box", "label": "scratch", "geometry": [5, 2, 3, 4]}, "x2 < x1"),
        ({"kind": "polygon", "label": "scratch", "geometry": [1, 2, 3, 4]}, "at least 3 vertices"),
        ({"kind": "ellipse", "label": "scratch", "geometry": [1, 2, 3, 4]}, "unknown annotation kind"),
        ({"kind": "box", "label": "scratch"}, "needs 'geometry'"),
        ({"kind": "mask", "label": "scratch", "geometry": {"counts": "abc"}}, "'size'"),
    ],
)
def test_bad_annotation_skips_only_that_annotation(tmp_path: Path, annotation: dict, words: str) -> None:
    manifest = _jsonl(
        tmp_path, {"image": "a.png", "tags": ["chip"], "annotations": [GOOD["annotations"][0], annotation]}
    )
    with pytest.raises(AnnotationError) as info:
        _read(tmp_path)
    assert words in str(info.value)
    assert (info.value.path, info.value.element) == (str(manifest), "line 1, annotation 2")
    ctx = ReadContext(skip_bad=True)
    (item,) = _read(tmp_path, ctx)
    assert [(a.kind, a.label) for a in item.annotations] == [("tag", "chip"), ("box", "scratch")]
    assert len(ctx.problems) == 1


def test_malformed_first_line_is_a_bad_record_not_a_header(tmp_path: Path) -> None:
    manifest = _jsonl(tmp_path, '{"format": "keepsight-manifest", ', GOOD)
    with pytest.raises(ParseError, match="invalid JSON") as info:
        _read(tmp_path)
    assert (info.value.path, info.value.element) == (str(manifest), "line 1")
    ctx = ReadContext(skip_bad=True)
    assert [i.path for i in _read(tmp_path, ctx)] == ["ok.png"] and len(ctx.problems) == 1


def test_undeclared_class_and_bad_header(tmp_path: Path) -> None:
    header = {"format": "keepsight-manifest", "version": 1, "labelbook": {"classes": {"scratch": {"name": "scratch"}}}}
    manifest = _jsonl(tmp_path, header, GOOD, {"image": "b.png", "tags": ["scratch", "dent"]})
    with pytest.raises(AnnotationError, match="class 'dent' is not declared") as info:
        _read(tmp_path)
    assert (info.value.path, info.value.element) == (str(manifest), "line 3, tag 2")
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert [a.label for a in items[1].annotations] == ["scratch"] and len(ctx.problems) == 1
    _jsonl(tmp_path, header | {"version": 9}, GOOD)
    with pytest.raises(ParseError, match="version 9") as info:
        FMT.read(tmp_path, ReadContext())
    assert info.value.element == "line 1"


def test_bad_csv(tmp_path: Path) -> None:
    path = tmp_path / "keepsight-manifest.csv"
    path.write_text("image,split\na.png,train\nb.png,train,extra\nc.png,somewhere\nd.png,test\n")
    with pytest.raises(ParseError, match="more cells") as info:
        _read(tmp_path)
    assert (info.value.path, info.value.element) == (str(path), "line 3")
    ctx = ReadContext(skip_bad=True)
    assert [i.path for i in _read(tmp_path, ctx)] == ["a.png", "d.png"]
    assert [(type(p), p.element) for p in ctx.problems] == [(ParseError, "line 3"), (AnnotationError, "line 4")]
    path.write_text("file,split\na.png,train\n")
    with pytest.raises(ParseError, match="'image' column"):
        FMT.read(path, ReadContext())
