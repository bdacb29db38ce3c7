"""COCO adapter: conformance, Datumaro's real samples, bad input, export losses, a property round trip."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Points, Polygon, Polyline, RotatedBox, Sample, Tag
from tests.formats.conformance import FormatConformance, assert_same_annotations

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
ASSETS = DATA / "datumaro-test-assets" / "tests" / "assets"
COCO = ASSETS / "coco_dataset"
FMT = get_format("coco")


class TestCocoConformance(FormatConformance):
    format_name = "coco"
    kinds = ["box", "polygon", "mask"]


def _assets(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/data is absent: {path} not found")
    return path


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


def _kinds(items: list[ImportItem]) -> Counter[str]:
    return Counter(a.kind for item in items for a in item.annotations)


# --- real samples (Datumaro's COCO fixtures) ---------------------------------------------------


def test_datumaro_instances() -> None:
    root = _assets(COCO / "coco_instances")
    reading = FMT.read(root, ReadContext())
    assert reading.labelbook.names() == ["a", "b", "c"]
    items = {item.path: item for item in reading.items}
    assert sorted(items) == ["images/train/a.jpg", "images/val/b.jpg"]
    train, val = items["images/train/a.jpg"], items["images/val/b.jpg"]
    assert (train.split, train.expected_size, val.split, val.expected_size) == ("train", (10, 5), "val", (5, 10))
    assert all(isinstance(i.source, Path) and i.source.is_file() for i in items.values())
    assert train.origin == "annotations/instances_train.json" and train.element == "image id 5"
    # bbox [2, 2, 3, 1] in xywh
    assert [(a.label, a.geometry) for a in train.annotations] == [("b", Box(2, 2, 5, 3))]
    polygon, mask = val.annotations
    # The polygon keeps Datumaro's attributes and is not duplicated by its bbox.
    assert polygon.label == "a" and polygon.geometry == Polygon([(0, 0), (1, 0), (1, 2), (0, 2)])
    assert polygon.attributes == {"x": 1, "y": "hello"}
    # Uncompressed RLE counts [0, 20, 30] over 10x5, column-major: the first 2 columns (20 pixels) are set.
    assert mask.label == "b" and mask.kind == "mask" and mask.attributes == {"iscrowd": True}
    expected = np.zeros((10, 5), dtype=bool)
    expected[:, :2] = True
    assert np.array_equal(mask.geometry.decode(), expected)


@pytest.mark.parametrize(
    ("folder", "paths"),
    [("coco_roboflow", ["train/a.jpg", "val/b.jpg"]), ("mmdet_coco", ["train/a.jpg", "val/b.jpg"])],
)
def test_other_layouts_find_their_images(folder: str, paths: list[str]) -> None:
    root = _assets(COCO / folder)
    detection = FMT.detect(root)
    assert detection.confidence >= 0.8, detection.reasons
    items = _read(root)
    assert sorted(i.path for i in items) == paths
    assert all(i.source.is_file() for i in items)  # type: ignore[union-attr]
    assert _kinds(items) == {"box": 1, "polygon": 1, "mask": 1}


def test_labels_variant_gives_tags() -> None:
    items = {i.path: i for i in _read(_assets(COCO / "coco_labels"))}
    assert [a.label for a in items["images/train/a.jpg"].annotations] == ["b"]
    assert [a.label for a in items["images/val/b.jpg"].annotations] == ["a", "b"]
    assert _kinds(list(items.values())) == {"tag": 3}


def test_keypoints_variant_gives_points_of_visible_keypoints() -> None:
    items = {i.path: i for i in _read(_assets(COCO / "coco_person_keypoints"))}
    points = [a for a in items["images/train/a.jpg"].annotations if a.kind == "points"]
    # [0,0,0, 0,2,1, 4,1,2]: the first keypoint has visibility 0 and is not labelled.
    assert [p.geometry for p in points] == [Points([(0, 2), (4, 1)])]
    # Without an instances file, the keypoint file's boxes and polygons are kept.
    assert _kinds(list(items.values())) == {"box": 1, "polygon": 1, "mask": 1, "points": 3}


def test_all_tasks_folder_merges_files_by_image_and_ignores_captions_and_panoptic() -> None:
    root = _assets(COCO / "coco")
    detection = FMT.detect(root)
    assert detection.confidence >= 0.8
    ignored = [r for r in detection.reasons if r.startswith("ignored")]
    assert len(ignored) == 4 and any("captions_val.json" in r for r in ignored)
    items = {i.path: i for i in _read(root)}
    assert sorted(items) == ["images/train/a.jpg", "images/val/b.jpg"]
    # instances + labels + stuff + keypoints (keypoint boxes/polygons not repeated: instances exist).
    assert _kinds([items["images/train/a.jpg"]]) == {"box": 1, "tag": 1, "mask": 1, "points": 1}
    assert _kinds([items["images/val/b.jpg"]]) == {"polygon": 1, "mask": 2, "tag": 2, "points": 2}
    assert items["images/val/b.jpg"].origin == "annotations/instances_val.json"


@pytest.mark.parametrize("folder", ["coco_captions", "coco_panoptic"])
def test_unsupported_tasks_are_rejected_with_a_reason(folder: str) -> None:
    detection = FMT.detect(_assets(COCO / folder))
    assert detection.confidence == 0
    assert any(folder.removeprefix("coco_") in r for r in detection.reasons)


def test_single_json_given_directly() -> None:
    file = _assets(COCO / "coco_instances" / "annotations" / "instances_val.json")
    assert FMT.detect(file).confidence >= 0.8
    items = _read(file)
    assert [i.path for i in items] == ["images/val/b.jpg"] and items[0].source.is_file()  # type: ignore[union-attr]


def test_roboflow_export_and_relaxed_coco() -> None:
    items = _read(_assets(ASSETS / "roboflow_dataset" / "coco"))
    assert sorted(i.path for i in items) == ["train/train_001.jpg", "train/train_002.jpg", "val/val_001.jpg"]
    assert _kinds(items) == {"box": 4}
    assert sum(a.attributes.get("iscrowd", False) for i in items for a in i.annotations) == 1
    relaxed = _read(_assets(ASSETS / "kaggle_dataset" / "relaxed_coco"))
    assert sorted(i.path for i in relaxed) == ["train_001.jpg", "train_002.jpg"]
    assert all(i.split is None and i.source.is_file() for i in relaxed)  # type: ignore[union-attr]


def test_datumaro_json_is_not_coco() -> None:
    folder = _assets(ASSETS / "algorithms" / "noisy_label_detection_det")
    detection = FMT.detect(folder)
    assert detection.confidence == 0 and "images" in detection.reasons[0]


# --- bad input --------------------------------------------------------------------------------


def _write_coco(root: Path, annotations: list[dict], images: list[dict] | None = None) -> Path:
    doc = {
        "images": images
        or [
            {"id": 1, "file_name": "a.png", "width": 20, "height": 10},
            {"id": 2, "file_name": "b.png", "width": 20, "height": 10},
        ],
        "categories": [{"id": 1, "name": "scratch"}],
        "annotations": annotations,
    }
    path = root / "annotations" / "instances_train.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))  # json.dumps writes NaN as a bare NaN, as some tools do
    return path


def _good(ann_id: int, image_id: int = 2) -> dict:
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [1, 1, 2, 2], "segmentation": []}


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        ({"id": 7, "image_id": 1, "category_id": 9, "bbox": [1, 1, 2, 2]}, AnnotationError, "category_id 9"),
        ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, float("nan"), 2, 2]}, AnnotationError, "NaN"),
        ({"id": 7, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]}, AnnotationError, "image_id 99"),
        ({"id": 7, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 2, 2]]}, AnnotationError, "vertices"),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "segmentation": {"size": [5, 5], "counts": [25]}},
            AnnotationError,
            "RLE size 5x5",
        ),
        ({"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, -2, 2]}, AnnotationError, "negative"),
        (
            {"id": 7, "image_id": 1, "category_id": 1, "segmentation": {"size": [10, 20], "counts": "??"}},
            AnnotationError,
            "does not cover",
        ),
        ({"id": 7, "image_id": 1, "category_id": [1], "bbox": [1, 1, 2, 2]}, AnnotationError, "category_id [1]"),
    ],
)
def test_bad_annotation(tmp_path: Path, bad: dict, error: type, words: str) -> None:
    path = _write_coco(tmp_path, [_good(1), bad, _good(2)])
    with pytest.raises(error) as info:
        _read(tmp_path)
    assert words in info.value.reason
    assert info.value.path == str(path) and info.value.element == "annotation id 7"
    assert str(path) in str(info.value)
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert [type(e) for e in ctx.problems] == [error]
    assert _kinds(items) == {"box": 2}  # the two good annotations of image 2 are still read


def test_malformed_json(tmp_path: Path) -> None:
    bad = tmp_path / "annotations" / "instances_val.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"images": [{"id": 1, "file_name": "a.png"}], "annotations": [')
    _write_coco(tmp_path, [_good(1)])
    with pytest.raises(ParseError) as info:
        _read(tmp_path)
    assert info.value.path == str(bad) and "line 1" in info.value.reason
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert len(ctx.problems) == 1 and isinstance(ctx.problems[0], ParseError)
    assert [i.split for i in items] == ["train", "train"]  # the good train file is still read


def test_image_path_escaping_the_root(tmp_path: Path) -> None:
    images = [{"id": 1, "file_name": "../../etc/a.png"}, {"id": 2, "file_name": "b.png"}]
    path = _write_coco(tmp_path, [_good(1, image_id=1), _good(2)], images)
    with pytest.raises(UnsafePathError) as info:
        _read(tmp_path)
    assert info.value.path == str(path) and info.value.element == "image id 1"
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    # The escaping image is skipped, so its annotation then names an unknown image: two problems.
    assert [type(e) for e in ctx.problems] == [UnsafePathError, AnnotationError]
    assert [i.path for i in items] == ["images/train/b.png"]


def test_missing_image_is_left_to_the_importer(tmp_path: Path) -> None:
    _write_coco(tmp_path, [_good(1)])
    items = _read(tmp_path)
    assert [i.path for i in items] == ["images/train/a.png", "images/train/b.png"]
    assert items[0].source == tmp_path / "images" / "train" / "a.png" and not items[0].source.exists()


# --- multi-part polygons and export losses ------------------------------------------------------


def test_multi_part_polygon_is_split_then_regrouped(tmp_path: Path) -> None:
    parts = [[0, 0, 4, 0, 4, 4], [10, 5, 14, 5, 14, 9, 10, 9]]
    _write_coco(tmp_path / "in", [{"id": 3, "image_id": 1, "category_id": 1, "segmentation": parts, "iscrowd": 0}])
    items = _read(tmp_path / "in")
    polygons = items[0].annotations
    assert [p.geometry.to_json() for p in polygons] == [[float(v) for v in part] for part in parts]
    assert all(p.attributes == {"coco_group": 3} for p in polygons)
    view = _view(tmp_path, polygons)
    FMT.write(view, tmp_path / "out", WriteContext())  # type: ignore[attr-defined]
    doc = json.loads((tmp_path / "out" / "annotations" / "instances_train.json").read_text())
    (ann,) = doc["annotations"]
    assert ann["segmentation"] == parts and ann["bbox"] == [0, 0, 14, 9]
    assert ann["area"] == pytest.approx(8 + 16)
    assert "attributes" not in ann  # coco_group is structure, not a user attribute


def _view(tmp_path: Path, annotations: list[Annotation], **sample_fields: object) -> MemoryView:
    image = tmp_path / "src.png"
    Image.fromarray(np.zeros((10, 20, 3), dtype=np.uint8)).save(image)
    fields = dict(id=1, path="a.png", blob="0" * 64, width=20, height=10, mode="RGB", format="PNG", split="train")
    fields.update(sample_fields)
    book = LabelBook()
    for ann in annotations:
        book.add(ann.label)
    return MemoryView(labelbook=book, items=[(Sample(**fields), annotations, image)])  # type: ignore[arg-type]


def test_export_reports_losses(tmp_path: Path) -> None:
    annotations = [
        Annotation("scratch", RotatedBox(10, 5, 6, 2, 30)),
        Annotation("scratch", Tag()),
        Annotation("scratch", Polyline([(0, 0), (5, 5)])),
        Annotation("scratch", Points([(1, 1)])),
        Annotation("scratch", Box(1, 1, 3, 3), {"iscrowd": True, "note": "edge"}),
    ]
    ctx = WriteContext()
    FMT.write(_view(tmp_path, annotations, verdict="NG"), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert sorted(ctx.losses) == sorted(
        [
            "rotated_box -> polygon (COCO has no rotated boxes)",
            "tag -> dropped (COCO instances hold no image-level labels)",
            "polyline -> dropped (COCO has no open lines)",
            "points -> dropped (COCO keypoints need a skeleton keepsight does not keep)",
            "OK/NG verdict -> dropped (COCO has no image verdict)",
        ]
    )
    (item,) = _read(tmp_path / "out")
    rotated, box = item.annotations
    assert rotated.kind == "polygon"
    assert np.allclose(rotated.geometry.array(), RotatedBox(10, 5, 6, 2, 30).corners())
    assert box.geometry == Box(1, 1, 3, 3) and box.attributes == {"iscrowd": True, "note": "edge"}


def test_export_keeps_names_stable_and_unique(tmp_path: Path) -> None:
    image = tmp_path / "src.png"
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(image)

    def sample(i: int, path: str) -> Sample:
        return Sample(id=i, path=path, blob="0" * 64, width=4, height=4, mode="RGB", format="PNG", split="val")

    items = [
        (sample(1, "images/val/a.png"), [], image),
        (sample(2, "a.png"), [], image),
        (sample(3, "lot/b.png"), [], image),
    ]
    FMT.write(MemoryView(LabelBook(), items), tmp_path / "out", WriteContext())  # type: ignore[attr-defined]
    assert sorted(i.path for i in _read(tmp_path / "out")) == [
        "images/val/2_a.png",
        "images/val/a.png",
        "images/val/lot/b.png",
    ]


# --- property: random boxes and polygons round-trip exactly -----------------------------------

_coord = st.floats(min_value=0, max_value=63, allow_nan=False, width=32)
_boxes = st.tuples(_coord, _coord, _coord, _coord).map(
    lambda v: Box(min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]))
)
_polygons = st.lists(st.tuples(_coord, _coord), min_size=3, max_size=8).map(Polygon)
_annotations = st.lists(
    st.builds(Annotation, label=st.sampled_from(["scratch", "chip"]), geometry=st.one_of(_boxes, _polygons)),
    max_size=6,
)


@settings(max_examples=30, deadline=None)
@given(annotations=_annotations)
def test_random_boxes_and_polygons_round_trip(annotations: list[Annotation]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ctx = WriteContext()
        FMT.write(_view(tmp_path, annotations), tmp_path / "out", ctx)  # type: ignore[attr-defined]
        assert not ctx.losses
        (item,) = _read(tmp_path / "out")
        assert_same_annotations(annotations, item.annotations, tol=1e-9)
