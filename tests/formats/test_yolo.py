"""The YOLO adapter: round trips, the real Ultralytics/Darknet/Roboflow samples, bad input, export losses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from keepsight.errors import AnnotationError, DatasetError, ParseError, UnsafePathError
from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.formats.yolo.lines import box_values, format_line, parse_line
from keepsight.model import Annotation, Box, LabelBook, Points, Polygon, RotatedBox, Sample, Tag
from keepsight.model.convert import array_to_mask
from tests.conftest import write_image
from tests.formats.conformance import FormatConformance

YOLO = get_format("yolo")


class TestDetectConformance(FormatConformance):
    format_name = "yolo"
    kinds = ["box"]


class TestSegmentConformance(FormatConformance):
    format_name = "yolo"
    kinds = ["polygon"]


class TestObbConformance(FormatConformance):
    format_name = "yolo"
    kinds = ["rotated_box"]


class TestClassifyConformance(FormatConformance):
    format_name = "yolo"
    kinds = ["tag"]


def read(path: Path, **options: object) -> list:
    return list(YOLO.read(path, ReadContext(options=options)).items)


def kinds_of(items: list) -> Counter[str]:
    return Counter(a.kind for item in items for a in item.annotations)


# --- real samples ---------------------------------------------------------------------------

ULTRALYTICS = "ultralytics-hub-examples/example_datasets"
DATUMARO = "datumaro-test-assets/tests/assets"

# (folder, images, annotations per kind, declared classes, images per split); counted by hand from
# the label files (wc -l, awk '{print NF}') and the SOURCE.md tables.
REAL = [
    (f"{ULTRALYTICS}/coco8", 8, {"box": 30}, 80, {"train": 4, "val": 4}),
    (f"{ULTRALYTICS}/coco8-seg", 8, {"polygon": 30}, 80, {"train": 4, "val": 4}),
    (f"{ULTRALYTICS}/coco8-pose", 8, {"box": 21, "points": 21}, 1, {"train": 4, "val": 4}),
    (f"{ULTRALYTICS}/dota8", 8, {"rotated_box": 133}, 15, {"train": 4, "val": 4}),
    (f"{ULTRALYTICS}/imagenet10", 20, {"tag": 20}, 10, {"train": 10, "val": 10}),
    (f"{DATUMARO}/yolo_dataset/strict", 1, {"box": 2}, 10, {"train": 1}),
    (f"{DATUMARO}/yolo_dataset/labels", 2, {"box": 4}, 10, {"train": 1, "val": 1}),
    (f"{DATUMARO}/yolo_dataset/annotations", 1, {"box": 2}, 10, {None: 1}),
    (f"{DATUMARO}/roboflow_dataset/yolo", 3, {"box": 4}, 2, {"train": 2, "val": 1}),
    ("label-studio-converter-tests/tests/data/test_import_yolo_data", 7, {"box": 25}, 4, {None: 7}),
]


@pytest.mark.parametrize(
    ("folder", "images", "kinds", "classes", "splits"), REAL, ids=[r[0].split("/")[-1] for r in REAL]
)
def test_real_sample_counts(
    shared_data: Path, folder: str, images: int, kinds: dict, classes: int, splits: dict
) -> None:
    root = shared_data / folder
    detection = YOLO.detect(root)
    assert detection.confidence > get_format("image_folder").detect(root).confidence, detection.reasons
    reading = YOLO.read(root, ReadContext())
    items = list(reading.items)
    assert len(items) == images
    assert kinds_of(items) == kinds
    assert len(reading.labelbook.classes) == classes
    assert Counter(item.split for item in items) == splits
    assert all(item.expected_size is None for item in items)
    assert all(Path(item.source).is_file() and (root / item.path).is_file() for item in items)


def test_real_class_histograms(shared_data: Path) -> None:
    coco8 = read(shared_data / ULTRALYTICS / "coco8")
    assert Counter(a.label for i in coco8 for a in i.annotations)["person"] == 10
    dota8 = read(shared_data / ULTRALYTICS / "dota8")
    assert Counter(a.label for i in dota8 for a in i.annotations)["ship"] == 105
    doors = read(shared_data / "label-studio-converter-tests/tests/data/test_import_yolo_data")
    assert Counter(a.label for i in doors for a in i.annotations) == {
        "closed_door": 10,
        "opened_door": 1,
        "bus": 8,
        "number": 6,
    }


def test_darknet_strict_box_in_pixels(shared_data: Path) -> None:
    # obj_train_data/1.jpg is 15x10; "2 0.133333 0.3 0.266667 0.2" is cx=2, cy=3, w=4, h=2 px.
    (item,) = read(shared_data / DATUMARO / "yolo_dataset/strict")
    assert item.path == "obj_train_data/1.jpg" and item.origin == "obj_train_data/1.txt"
    first = item.annotations[0]
    assert first.label == "label_2"
    assert first.geometry.to_json() == pytest.approx([0.0, 2.0, 4.0, 4.0], abs=1e-4)


def test_datumaro_annotations_layout_pairs_images_with_annotations(shared_data: Path) -> None:
    (item,) = read(shared_data / DATUMARO / "yolo_dataset/annotations")
    assert (item.path, item.origin) == ("Images/1.jpg", "Annotations/1.txt")


def test_pose_keypoints_have_visibility(shared_data: Path) -> None:
    items = read(shared_data / ULTRALYTICS / "coco8-pose")
    points = [a for i in items for a in i.annotations if a.kind == "points"]
    assert all(len(p.geometry.points) == 17 and len(p.attributes["visibility"]) == 17 for p in points)
    assert {v for p in points for v in p.attributes["visibility"]} <= {0, 1, 2}


def test_dota8_is_obb_from_its_yaml_name_and_the_option_overrides(shared_data: Path) -> None:
    root = shared_data / ULTRALYTICS / "dota8"
    items = read(root, yolo_task="segment")
    assert kinds_of(items) == {"polygon": 133}
    first = next(a for i in read(root) for a in i.annotations)
    # P0861...txt line 1 starts at (0.813477, 0.523437) of a 1024 px image: corner 0 is kept.
    assert first.geometry.corners()[0] == pytest.approx([0.813477 * 1024, 0.523437 * 1024], abs=0.01)


def test_roboflow_obb_is_left_to_dota(shared_data: Path) -> None:
    root = shared_data / DATUMARO / "roboflow_dataset/yolo_obb"
    assert YOLO.detect(root).confidence < get_format("dota").detect(root).confidence


def test_detect_accepts_the_yaml_file_itself(shared_data: Path) -> None:
    config = shared_data / ULTRALYTICS / "coco8" / "coco8.yaml"
    assert YOLO.detect(config).confidence >= 0.8
    items = read(config)
    assert len(items) == 8 and items[0].path.startswith("images/")


# --- small synthetic datasets -----------------------------------------------------------------


def make_dataset(root: Path, labels: dict[str, str], *, config: str = "names: [a, b]\ntrain: images/train\n") -> Path:
    """images/train/<stem>.png (40x20) + labels/train/<stem>.txt for each entry, and data.yaml."""
    for stem, text in labels.items():
        write_image(root / "images" / "train" / f"{stem}.png", size=(40, 20))
        (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
        (root / "labels" / "train" / f"{stem}.txt").write_text(text)
    (root / "data.yaml").write_text(config)
    return root


def test_labels_in_pixels_and_split_lists(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": "1 0.5 0.5 0.5 0.5\n0 0.1 0.1 0.2 0.1 0.2 0.3\n"})
    (root / "train.txt").write_text("./images/train/x.png\n")
    (root / "data.yaml").write_text("names: {0: a, 1: b}\ntrain: train.txt\n")
    (item,) = read(root)
    assert item.split == "train" and item.path == "images/train/x.png"
    box, polygon = item.annotations
    assert (box.label, box.geometry.to_json()) == ("b", [10.0, 5.0, 30.0, 15.0])
    assert polygon.geometry.to_json() == pytest.approx([4.0, 2.0, 8.0, 2.0, 8.0, 6.0])


def test_image_without_label_file_is_a_background_image(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": "0 0.5 0.5 0.5 0.5\n"})
    write_image(root / "images" / "train" / "empty.png", size=(40, 20))
    items = {i.path: i for i in read(root)}
    assert items["images/train/empty.png"].annotations == []
    assert len(items["images/train/x.png"].annotations) == 1


def test_missing_image_is_yielded_for_the_importer(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": "0 0.5 0.5 0.5 0.5\n"})
    (root / "train.txt").write_text("./images/train/x.png\nimages/train/gone.png\n")
    (root / "data.yaml").write_text("names: [a]\ntrain: train.txt\n")
    items = {i.path: i for i in read(root)}
    assert items["images/train/gone.png"].source == root / "images" / "train" / "gone.png"


BAD_LINES = [
    ("0 0.5 0.5 0.5 0.5\n7 0.5 0.5 0.1 0.1\n", AnnotationError, "class id 7 is out of range"),
    ("0 0.5 0.5 0.5 0.5\n0 0.5 nan 0.1 0.1\n", AnnotationError, "NaN"),
    ("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 0.1\n", AnnotationError, "3 values after the class id"),
    ("0 0.5 0.5 0.5 0.5\n0 0.5 x 0.1 0.1\n", ParseError, "'x' is not a number"),
    ("0 0.5 0.5 0.5 0.5\n0 0.5 0.5 -0.1 0.1\n", AnnotationError, "x2 < x1"),
]


@pytest.mark.parametrize(("text", "error", "message"), BAD_LINES)
def test_bad_label_line(tmp_path: Path, text: str, error: type, message: str) -> None:
    root = make_dataset(tmp_path, {"bad": text, "good": "1 0.5 0.5 0.5 0.5\n"})
    with pytest.raises(error) as caught:
        read(root)
    assert message in str(caught.value)
    assert "bad.txt" in str(caught.value) and caught.value.element == "line 2"
    ctx = ReadContext(skip_bad=True)
    items = {Path(i.path).stem: i for i in YOLO.read(root, ctx).items}
    assert len(items["bad"].annotations) == 1 and len(items["good"].annotations) == 1
    assert [type(e) for e in ctx.problems] == [error]


def test_malformed_yaml_is_a_parse_error(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": ""})
    with pytest.raises(ParseError) as caught:
        read_config(root, "names: [a\ntrain: [")
    assert "data.yaml" in str(caught.value)


def read_config(root: Path, text: str) -> list:
    (root / "data.yaml").write_text(text)
    return read(root / "data.yaml")


def test_escaping_split_path_is_refused(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"x": "0 0.5 0.5 0.5 0.5\n"})
    write_image(tmp_path / "secret" / "s.png")
    config = "names: [a]\ntrain: images/train\ntest: ../../secret\n"
    with pytest.raises(UnsafePathError) as caught:
        read_config(root, config)
    assert "data.yaml" in str(caught.value) and caught.value.element == "test"
    ctx = ReadContext(skip_bad=True)
    items = list(YOLO.read(root, ctx).items)
    assert [i.path for i in items] == ["images/train/x.png"]
    assert [type(e) for e in ctx.problems] == [UnsafePathError]


def test_escaping_line_in_image_list_is_refused(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", {"x": "0 0.5 0.5 0.5 0.5\n"})
    (root / "train.txt").write_text("/etc/passwd.png\n./images/train/x.png\n../../../y.png\n")
    (root / "data.yaml").write_text("names: [a]\ntrain: train.txt\n")
    with pytest.raises(UnsafePathError) as caught:
        read(root)
    assert "train.txt" in str(caught.value) and caught.value.element == "line 1"
    ctx = ReadContext(skip_bad=True)
    assert [i.path for i in YOLO.read(root, ctx).items] == ["images/train/x.png"]
    assert [e.element for e in ctx.problems] == ["line 1", "line 3"]


def test_roboflow_parent_paths_and_missing_split_folders(tmp_path: Path) -> None:
    write_image(tmp_path / "train" / "images" / "a.png")
    (tmp_path / "train" / "labels").mkdir()
    (tmp_path / "train" / "labels" / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    write_image(tmp_path / "valid" / "images" / "b.png")
    config = "names: [a]\ntrain: ../train/images\nval: ../validation/images\ntest: ../test/images\n"
    with pytest.raises(AnnotationError) as caught:
        read_config(tmp_path, config)
    assert "does not exist" in str(caught.value) and caught.value.element == "test"
    ctx = ReadContext(skip_bad=True)
    items = list(YOLO.read(tmp_path, ctx).items)
    assert [(i.path, i.split, len(i.annotations)) for i in items] == [
        ("train/images/a.png", "train", 1),
        ("valid/images/b.png", "val", 0),
    ]


def test_undeclared_class_folder_in_classify_yaml(tmp_path: Path) -> None:
    write_image(tmp_path / "train" / "cat" / "1.png")
    write_image(tmp_path / "train" / "dog" / "2.png")
    with pytest.raises(AnnotationError) as caught:
        read_config(tmp_path, "names: [cat]\ntrain: train\ntask: classify\n")
    assert "dog" in str(caught.value)
    ctx = ReadContext(skip_bad=True)
    items = list(YOLO.read(tmp_path, ctx).items)
    assert [i.annotations[0].label for i in items] == ["cat"] and len(ctx.problems) == 1


def test_unknown_task_option(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": ""})
    with pytest.raises(DatasetError, match="yolo_task"):
        read(root, yolo_task="keypoints")


def test_detect_rejects_with_reasons(tmp_path: Path) -> None:
    write_image(tmp_path / "cats" / "1.png")
    detection = YOLO.detect(tmp_path)
    assert detection.confidence == 0 and "data.yaml" in detection.reasons[0]
    assert YOLO.detect(tmp_path / "cats" / "1.png").confidence == 0


# --- export -----------------------------------------------------------------------------------


def view_of(tmp_path: Path, annotations: list[Annotation], *, split: str = "train", book: LabelBook | None = None):
    image = write_image(tmp_path / "src" / "img.png", size=(40, 20))
    sample = Sample(id=1, path="img.png", blob="0" * 64, width=40, height=20, mode="RGB", format="PNG", split=split)
    if book is None:
        book = LabelBook()
        for a in annotations:
            book.add(a.label)
    return MemoryView(labelbook=book, items=[(sample, annotations, image)])


def export(view: MemoryView, dest: Path, **options: object) -> WriteContext:
    ctx = WriteContext(options=options)
    YOLO.write(view, dest, ctx)
    return ctx


def test_export_layout_yaml_and_lists(tmp_path: Path) -> None:
    view = view_of(tmp_path, [Annotation("b", Box(10, 5, 30, 15))], book=LabelBook())
    view.labelbook.add("a")
    view.labelbook.add("b")
    dest = tmp_path / "out"
    assert not export(view, dest).losses
    text = (dest / "data.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["names"] == {0: "a", 1: "b"} and config["train"] == "images/train"
    # Ultralytics requires `val`: with no val or test split it stands in for the training images.
    assert config["val"] == "images/train" and "test" not in config
    assert text.startswith("# No val split: val points to the train images")
    assert Path(config["path"]) == dest.resolve() and config["task"] == "detect"
    assert (dest / "train.txt").read_text() == "./images/train/img.png\n"
    assert (dest / "labels/train/img.txt").read_text() == "1 0.5 0.5 0.5 0.5\n"
    assert (dest / "images/train/img.png").is_file()


def test_without_val_the_test_images_stand_in_and_keep_their_split_on_reimport(tmp_path: Path) -> None:
    items = []
    for i, split in enumerate(["train", "test", "train"]):
        image = write_image(tmp_path / "src" / f"img{i}.png", size=(40, 20), seed=i)
        sample = Sample(id=i + 1, path=f"img{i}.png", blob=f"{i}" * 64, width=40, height=20, mode="RGB",
                        format="PNG", split=split)
        items.append((sample, [Annotation("a", Box(0, 0, 4, 4))], image))
    book = LabelBook()
    book.add("a")
    dest = tmp_path / "out"
    export(MemoryView(labelbook=book, items=items), dest)
    config = yaml.safe_load((dest / "data.yaml").read_text())
    assert (config["train"], config["val"], config["test"]) == ("images/train", "images/test", "images/test")
    # The test folder is listed twice but read once, as test.
    assert sorted(item.split for item in read(dest)) == ["test", "train", "train"]


def test_unassigned_goes_to_train_with_a_loss(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, [Annotation("a", Box(0, 0, 4, 4))], split="unassigned"), dest)
    assert ctx.losses["split unassigned -> train (YOLO trainers need a split)"] == 1
    assert [i.split for i in read(dest)] == ["train"]


def test_detect_export_losses(tmp_path: Path) -> None:
    mask = array_to_mask(np.ones((20, 40), dtype=bool))
    anns = [
        Annotation("a", RotatedBox(20, 10, 8, 4, 30)),
        Annotation("a", Polygon([(1, 1), (5, 1), (3, 4)])),
        Annotation("a", mask),
        Annotation("a", Tag()),
        Annotation("a", Box(1, 1, 3, 3), attributes={"occluded": True}),
    ]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns), dest, yolo_task="detect")
    assert set(ctx.losses) == {
        "rotated_box -> box (YOLO detect holds axis-aligned boxes)",
        "polygon -> box (YOLO detect holds axis-aligned boxes)",
        "mask -> box (YOLO detect holds axis-aligned boxes)",
        "tag dropped (YOLO detect has no tag)",
        "attributes dropped (YOLO label lines hold none)",
    }
    (item,) = read(dest)
    assert kinds_of([item]) == {"box": 4}
    assert item.annotations[1].geometry.to_json() == pytest.approx([1, 1, 5, 4])


def test_segment_export_writes_boxes_and_masks_as_polygons(tmp_path: Path) -> None:
    array = np.zeros((20, 40), dtype=bool)
    array[2:8, 4:12] = True
    anns = [
        Annotation("a", Polygon([(1, 1), (5, 1), (3, 4)])),
        Annotation("a", Box(10, 5, 30, 15)),
        Annotation("b", array_to_mask(array)),
    ]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns), dest)
    assert set(ctx.losses) == {
        "box -> polygon (YOLO segment reads back 4-corner polygons)",
        "mask -> polygon (YOLO segment keeps outer contours, no holes)",
    }
    (item,) = read(dest)
    assert kinds_of([item]) == {"polygon": 3}
    assert item.annotations[1].geometry.to_json() == pytest.approx([10, 5, 30, 5, 30, 15, 10, 15])
    assert item.annotations[2].geometry.bounds() == pytest.approx((4, 2, 11, 7))


def test_obb_export_flags_directed_classes(tmp_path: Path) -> None:
    book = LabelBook()
    book.add("arrow", orientation="directed")
    book.add("pill")
    anns = [
        Annotation("arrow", RotatedBox(20, 10, 8, 4, 200)),
        Annotation("pill", RotatedBox(20, 10, 8, 4, 30)),
        Annotation("pill", Box(2, 2, 6, 6)),
    ]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns, book=book), dest)
    assert dict(ctx.losses) == {
        "rotated_box heading -> 180-degree symmetric OBB (Ultralytics ignores the direction of 'directed' classes)": 1,
        "box -> rotated_box (YOLO OBB reads back rotated boxes at angle 0)": 1,
    }
    (item,) = read(dest)
    assert item.annotations[0].same_content(anns[0], tol=1e-3)  # keepsight's own reader keeps the heading
    assert item.annotations[2].geometry.to_json() == pytest.approx([4, 4, 4, 4, 0], abs=1e-4)


def test_classify_export_losses(tmp_path: Path) -> None:
    anns = [Annotation("cat", Tag()), Annotation("dog", Tag()), Annotation("cat", Box(0, 0, 2, 2))]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns), dest, yolo_task="classify")
    assert dict(ctx.losses) == {
        "regions dropped (YOLO classify holds one class per image)": 1,
        "extra tags dropped (YOLO classify holds one class per image)": 1,
    }
    assert (dest / "train" / "cat" / "img.png").is_file()


def test_images_sharing_a_stem_get_separate_label_files(tmp_path: Path) -> None:
    items = []
    for i, name in enumerate(["a.png", "sub/a.jpg", "A.png"], 1):
        image = write_image(tmp_path / "src" / name, size=(40, 20))
        sample = Sample(id=i, path=name, blob="0" * 64, width=40, height=20, mode="RGB", format="PNG", split="val")
        items.append((sample, [Annotation("a", Box(0, 0, 4 * i, 4))], image))
    book = LabelBook()
    book.add("a")
    dest = tmp_path / "out"
    export(MemoryView(labelbook=book, items=items), dest)
    got = {i.path: i.annotations[0].geometry.x2 for i in read(dest)}
    assert got == {"images/val/a.png": 4, "images/val/2_a.jpg": 8, "images/val/3_A.png": 12}


def test_pose_option_without_kpt_shape(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"x": "0 0.5 0.5 0.5 0.5 0.25 0.5 2 0.75 0.5 0\n"})
    box, points = read(root, yolo_task="pose")[0].annotations
    assert box.geometry.to_json() == [10.0, 5.0, 30.0, 15.0]
    assert points.geometry.to_json() == [10.0, 10.0, 30.0, 10.0] and points.attributes == {"visibility": [2, 0]}
    with pytest.raises(AnnotationError, match="3 values after the class id"):
        make_dataset(tmp_path, {"x": "0 0.5 0.5 0.5\n"}, config="names: [a]\ntrain: images/train\nkpt_shape: [2, 3]\n")
        read(tmp_path)


def test_pose_export_round_trips_the_ultralytics_sample(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / ULTRALYTICS / "coco8-pose"
    items = read(source)
    book = LabelBook()
    book.add("person")
    view_items = []
    for i, item in enumerate(items, 1):
        assert isinstance(item.source, Path)
        with Image.open(item.source) as image:
            width, height = image.size
        sample = Sample(id=i, path=item.path, blob="0" * 64, width=width, height=height, mode="RGB", format="JPEG",
                        split=item.split or "train")
        view_items.append((sample, item.annotations, source / item.path))
    dest = tmp_path / "out"
    ctx = export(MemoryView(labelbook=book, items=view_items), dest)
    assert not ctx.losses
    config = yaml.safe_load((dest / "data.yaml").read_text())
    assert (config["task"], config["kpt_shape"]) == ("pose", [17, 3])
    back = {Path(i.path).name: i.annotations for i in read(dest)}
    assert kinds_of(read(dest)) == {"box": 21, "points": 21}
    for item in items:
        got = back[Path(item.path).name]
        for want, have in zip(item.annotations, got, strict=True):
            assert want.same_content(have, tol=1e-2), item.path
            assert want.attributes == have.attributes


def test_pose_export_pairs_boxes_and_keypoints_by_class_and_position(tmp_path: Path) -> None:
    anns = [
        Annotation("a", Box(20, 0, 40, 20)),
        Annotation("a", Box(0, 0, 20, 20)),
        Annotation("b", Box(0, 0, 20, 20)),
        # not just after an "a" box: paired by position with the "a" box holding its points (the
        # "b" box holds them too but is another class)
        Annotation("a", Points([(5, 5), (10, 10)]), {"visibility": [2, 1]}),
        Annotation("b", Points([(30, 5), (35, 8), (38, 12)])),  # no "b" box around it
    ]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns), dest)
    assert "keypoints without a box -> box around the keypoints" in ctx.losses
    assert any("padded to 3 keypoints" in loss for loss in ctx.losses)
    assert yaml.safe_load((dest / "data.yaml").read_text())["kpt_shape"] == [3, 3]
    (item,) = read(dest)
    by_label: dict[str, list[Annotation]] = {}
    for a in item.annotations:
        by_label.setdefault(f"{a.label}/{a.kind}", []).append(a)
    # the "a" keypoints went with the left "a" box; the right one is written alone and reads back alone
    assert sorted(a.geometry.to_json() for a in by_label["a/box"]) == [[0, 0, 20, 20], [20, 0, 40, 20]]
    (a_points,) = by_label["a/points"]
    assert a_points.geometry.to_json()[:4] == [5, 5, 10, 10] and a_points.attributes["visibility"] == [2, 1, 0]
    assert sorted(a.geometry.to_json() for a in by_label["b/box"]) == [[0, 0, 20, 20], [30, 5, 38, 12]]
    (b_points,) = by_label["b/points"]
    assert b_points.attributes["visibility"] == [2, 2, 2]


def test_pose_is_chosen_for_keypoints_and_two_columns_without_visibility(tmp_path: Path) -> None:
    anns = [Annotation("a", Box(0, 0, 20, 20)), Annotation("a", Points([(5, 5), (10, 10)]))]
    dest = tmp_path / "out"
    assert not export(view_of(tmp_path, anns), dest).losses
    assert yaml.safe_load((dest / "data.yaml").read_text())["kpt_shape"] == [2, 2]
    assert (dest / "labels" / "train" / "img.txt").read_text().split()[5:] == ["0.125", "0.25", "0.25", "0.5"]
    (item,) = read(dest)
    assert [(a.kind, a.geometry.to_json(), a.attributes) for a in item.annotations] == [
        ("box", [0, 0, 20, 20], {}),
        ("points", [5, 5, 10, 10], {}),
    ]


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.tuples(st.integers(1, 8000), st.integers(1, 8000)),
    corners=st.tuples(*[st.floats(0, 1, allow_nan=False)] * 4),
)
def test_box_line_round_trip(size: tuple[int, int], corners: tuple[float, float, float, float]) -> None:
    width, height = size
    xa, xb, ya, yb = corners
    box = Box(min(xa, xb) * width, min(ya, yb) * height, max(xa, xb) * width, max(ya, yb) * height)
    line = format_line(3, box_values(box, width, height))
    (got,) = parse_line(line.split(), {3: "c"}, "detect", None, width, height)
    assert got.label == "c" and got.kind == "box"
    # 6 decimals of a normalised value: at most 1e-6 of the image size off per coordinate.
    tol = 1e-6 * max(width, height) + 1e-9
    assert got.geometry.to_json() == pytest.approx(box.to_json(), abs=tol)
