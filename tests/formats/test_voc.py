"""Pascal VOC: round trip, NEU-DET and datumaro's samples, masks, bad input, export losses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree as SafeET
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Polygon, RotatedBox, Sample, Tag
from keepsight.model.convert import array_to_mask
from tests.formats.conformance import FormatConformance

VOC = get_format("voc")
DATUMARO_VOC = Path("datumaro-test-assets/tests/assets/voc_dataset")


class TestVocConformance(FormatConformance):
    format_name = "voc"
    kinds = ["box"]


def read(path: Path, **kwargs):
    ctx = ReadContext(**kwargs)
    reading = VOC.read(path, ctx)
    return reading, list(reading.items), ctx


def obj(name: str, box: str = "1 2 5 6", extra: str = "") -> str:
    xmin, ymin, xmax, ymax = box.split()
    return (
        f"<object><name>{name}</name>{extra}<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def voc_tree(root: Path, files: dict[str, str], labelmap: list[str] | None = None) -> Path:
    """A tiny VOC tree: Annotations/<stem>.xml (body = objects) and an 8x6 JPEGImages/<stem>.jpg each."""
    for stem, body in files.items():
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 6)).save(root / "JPEGImages" / f"{stem}.jpg")
        xml = (
            body
            if body.startswith("<?xml") or body.startswith("<!")
            else (
                f"<annotation><filename>{stem}.jpg</filename><size><width>8</width><height>6</height></size>"
                f"{body}</annotation>"
            )
        )
        (root / "Annotations" / f"{stem}.xml").write_text(xml, encoding="utf-8")
    if labelmap is not None:
        (root / "labelmap.txt").write_text("".join(f"{name}:::\n" for name in labelmap), encoding="utf-8")
    return root


# ---- real data -----------------------------------------------------------------------------


def test_neu_det_reads_both_annotation_folders(shared_data: Path) -> None:
    root = shared_data / "neu-det"
    detection = VOC.detect(root)
    assert detection.confidence >= 0.8, detection.reasons
    reading, items, ctx = read(root)
    assert not ctx.problems
    assert len(items) == 1800
    assert Counter(item.path.split("/")[0] for item in items) == {"IMAGES": 1770, "Validation_Images": 30}
    assert all(isinstance(item.source, Path) and item.source.is_file() for item in items)
    assert {item.split for item in items} == {None}  # Validation_* is the repo owner's choice, not a split
    assert {item.expected_size for item in items} == {(200, 200)}
    boxes = [a for item in items for a in item.annotations]
    assert {a.kind for a in boxes} == {"box"}
    assert Counter(a.label for a in boxes) == {
        "inclusion": 1011,
        "patches": 881,
        "crazing": 689,
        "rolled-in_scale": 628,
        "scratches": 548,
        "pitted_surface": 432,
    }
    assert sum(a.attributes.get("truncated", False) for a in boxes) == 1507
    assert sum(a.attributes.get("difficult", False) for a in boxes) == 81
    assert reading.classes_declared is False  # no labelmap.txt


def test_neu_det_filename_without_extension_is_found(shared_data: Path) -> None:
    _, items, _ = read(shared_data / "neu-det")
    item = next(i for i in items if i.origin == "ANNOTATIONS/patches_104.xml")  # <filename>patches_104</filename>
    assert item.path == "IMAGES/patches_104.jpg"
    first = next(i for i in items if i.origin == "ANNOTATIONS/crazing_1.xml")
    assert [a.geometry for a in first.annotations] == [Box(2, 2, 193, 194)]  # VOC values kept as written


def test_datumaro_voc_dataset1_boxes_parts_actions_and_masks(shared_data: Path) -> None:
    root = shared_data / DATUMARO_VOC / "voc_dataset1"
    _, items, ctx = read(root)
    assert not ctx.problems
    by_path = {item.path: item for item in items}
    assert set(by_path) == {"JPEGImages/2007_000001.jpg", "JPEGImages/2007_000002.jpg"}
    first, second = by_path["JPEGImages/2007_000001.jpg"], by_path["JPEGImages/2007_000002.jpg"]
    assert (first.split, second.split) == ("train", "test")
    assert first.expected_size == (20, 10)
    assert not second.annotations  # listed in test.txt, no XML, no masks
    cat, person, head, mask = first.annotations
    assert (cat.label, cat.geometry, cat.attributes) == ("cat", Box(1, 2, 3, 4), {"truncated": True})
    assert person.label == "person" and person.geometry == Box(4, 5, 6, 7)
    assert person.attributes["phoning"] is True and person.attributes["jumping"] is False
    assert len(person.attributes) == 11  # the 11 <actions>
    assert (head.label, head.geometry, head.attributes) == ("head", Box(5.5, 6, 7.5, 8), {"part_of": 2})
    # SegmentationObject is one instance over the whole 20x10 image; SegmentationClass paints it (0,128,0),
    # the VOC palette colour of class 2.
    assert mask.label == "bicycle" and mask.kind == "mask"
    assert mask.geometry.decode().all() and mask.geometry.decode().shape == (10, 20)


def test_datumaro_voc_dataset2_labelmap_and_trainval(shared_data: Path) -> None:
    reading, items, ctx = read(shared_data / DATUMARO_VOC / "voc_dataset2")
    assert not ctx.problems
    assert reading.classes_declared
    assert len(reading.labelbook.names()) == 22 and reading.labelbook.classes["aeroplane"].colour == "#800000"
    assert sorted(item.origin for item in items) == [f"Annotations/{s}.xml" for s in ("@", "a", "b", "c", "d")]
    assert {item.split for item in items} == {"train"}  # trainval.txt
    # No JPEGImages/ folder: the expected path is there, for the importer to report as missing.
    assert {item.path for item in items} >= {"JPEGImages/a.jpg", "JPEGImages/@.jpg"}
    labels = sorted((a.label, a.attributes.get("occluded", False)) for item in items for a in item.annotations)
    assert labels == [("aeroplane", True), ("background", True), ("bicycle", False), ("bird", False)]


def test_datumaro_voc_root_reads_all_three_trees(shared_data: Path) -> None:
    root = shared_data / DATUMARO_VOC
    assert VOC.detect(root).confidence >= 0.8
    _, items, _ = read(root)
    assert Counter(item.path.split("/")[0] for item in items) == {
        "voc_dataset1": 2,
        "voc_dataset2": 5,
        "voc_dataset3": 1,
    }
    third = next(item for item in items if item.path.startswith("voc_dataset3"))
    assert third.split == "train"  # train.txt has a blank line and a comment before the id


def test_roboflow_flat_folders_give_splits(shared_data: Path) -> None:
    root = shared_data / "datumaro-test-assets/tests/assets/roboflow_dataset/voc"
    detection = VOC.detect(root)
    assert 0 < detection.confidence < 0.8  # XML beside images is a weaker signature
    _, items, _ = read(root)
    assert sorted((item.path, item.split) for item in items) == [
        ("train/train_001.jpg", "train"),
        ("train/train_002.jpg", "train"),
        ("val/val_001.jpg", "val"),
    ]
    assert sum(len(item.annotations) for item in items) == 4


def test_rejects_old_labelme_xml_with_a_reason(shared_data: Path) -> None:
    detection = VOC.detect(shared_data / "datumaro-test-assets/tests/assets/labelme_dataset")
    assert detection.confidence == 0
    assert any("LabelMe" in reason for reason in detection.reasons)


# ---- layouts and masks ---------------------------------------------------------------------


def test_annotations_folder_or_xml_file_points_at_the_root(tmp_path: Path) -> None:
    root = voc_tree(tmp_path / "ds", {"a": obj("scratch")})
    assert VOC.detect(root / "Annotations").root == root
    assert VOC.detect(root / "Annotations" / "a.xml").root == root
    _, items, _ = read(root / "Annotations")
    assert [item.path for item in items] == ["JPEGImages/a.jpg"]


def test_images_without_xml_are_imported_unannotated(tmp_path: Path) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch")})
    Image.new("RGB", (8, 6)).save(root / "JPEGImages" / "ok_part.png")
    _, items, _ = read(root)
    assert [(item.path, len(item.annotations)) for item in items] == [
        ("JPEGImages/a.jpg", 1),
        ("JPEGImages/ok_part.png", 0),
    ]


def test_palette_segmentation_pngs_become_instance_masks(tmp_path: Path) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch") + obj("chip")}, labelmap=["background", "scratch", "chip"])
    instances = np.zeros((6, 8), dtype=np.uint8)
    instances[0:2, 0:3] = 1  # instance 1: 6 pixels
    instances[4:6, 5:8] = 2  # instance 2: 6 pixels, with a void border pixel
    instances[3, 5] = 255
    classes = np.where(instances == 1, 2, np.where(instances == 2, 1, 0)).astype(np.uint8)  # 1 -> chip, 2 -> scratch
    classes[3, 5] = 255
    # The first VOC palette colours; Pillow merges palette entries of equal colour, so give each its own.
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 252 + [224, 224, 192]
    for folder, array in (("SegmentationObject", instances), ("SegmentationClass", classes)):
        (root / folder).mkdir()
        png = Image.fromarray(array, mode="P")
        png.putpalette(palette)
        png.save(root / folder / "a.png")
    _, items, ctx = read(root)
    assert not ctx.problems
    masks = [a for a in items[0].annotations if a.kind == "mask"]
    assert [(m.label, m.geometry.area(), m.geometry.bounds()) for m in masks] == [
        ("chip", 6, (0.0, 0.0, 3.0, 2.0)),
        ("scratch", 6, (5.0, 4.0, 8.0, 6.0)),
    ]


def test_unknown_mask_colour_is_an_annotation_error(tmp_path: Path) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch"), "b": obj("chip")})
    (root / "SegmentationClass").mkdir()
    Image.new("RGB", (8, 6), (1, 2, 3)).save(root / "SegmentationClass" / "a.png")
    with pytest.raises(AnnotationError, match=r"a\.png: colour \(1, 2, 3\)"):
        read(root)
    _, items, ctx = read(root, skip_bad=True)
    assert [len(item.annotations) for item in items] == [1, 1]  # the box survives, the bad mask is skipped
    assert len(ctx.problems) == 1


# ---- bad input -----------------------------------------------------------------------------


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    root = voc_tree(
        tmp_path, {"a": obj("scratch"), "b": "<?xml version='1.0'?>\n<annotation>\n<object>\n</annotation>"}
    )
    with pytest.raises(ParseError) as info:
        read(root)
    assert "b.xml" in str(info.value) and info.value.element == "line 4"
    _, items, ctx = read(root, skip_bad=True)
    assert [item.path for item in items] == ["JPEGImages/a.jpg", "JPEGImages/b.jpg"]  # b's image is still there
    assert len(items[0].annotations) == 1 and not items[1].annotations
    assert [type(p) for p in ctx.problems] == [ParseError]


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]>'
        "<annotation><filename>&y;</filename><size/></annotation>"
    )
    root = voc_tree(tmp_path, {"a": obj("scratch"), "bomb": bomb})
    with pytest.raises(ParseError, match="bomb.xml.*unsafe XML"):
        read(root)


def test_undeclared_class_names_object(tmp_path: Path) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch") + obj("dent", "2 2 4 4")}, labelmap=["scratch"])
    with pytest.raises(AnnotationError) as info:
        read(root)
    assert "a.xml (object 2)" in str(info.value) and "'dent' is not declared" in str(info.value)
    _, items, ctx = read(root, skip_bad=True)
    assert [a.label for a in items[0].annotations] == ["scratch"]
    assert len(ctx.problems) == 1


@pytest.mark.parametrize(
    ("box", "message"), [("nan 2 5 6", "NaN"), ("5 2 1 6", "x2 < x1"), ("a 2 5 6", "not a number")]
)
def test_bad_coordinates_are_annotation_errors(tmp_path: Path, box: str, message: str) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch", box) + obj("chip")})
    with pytest.raises(AnnotationError, match=message) as info:
        read(root)
    assert info.value.element == "object 1" and info.value.path.endswith("a.xml")
    _, items, ctx = read(root, skip_bad=True)
    assert [a.label for a in items[0].annotations] == ["chip"] and len(ctx.problems) == 1


def test_escaping_filename_is_refused(tmp_path: Path) -> None:
    root = voc_tree(tmp_path / "ds", {"a": obj("scratch"), "b": obj("chip")})
    xml = (root / "Annotations" / "b.xml").read_text().replace("b.jpg", "../../secret.jpg")
    (root / "Annotations" / "b.xml").write_text(xml)
    with pytest.raises(UnsafePathError, match="b.xml.*escapes"):
        read(root)
    _, items, ctx = read(root, skip_bad=True)
    assert [item.path for item in items] == ["JPEGImages/a.jpg", "JPEGImages/b.jpg"]  # b.jpg: no XML claims it
    assert not items[1].annotations and len(ctx.problems) == 1


def test_id_in_two_split_lists_is_a_problem(tmp_path: Path) -> None:
    root = voc_tree(tmp_path, {"a": obj("scratch")})
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    (root / "ImageSets" / "Main" / "test.txt").write_text("a\n")
    with pytest.raises(AnnotationError, match="listed in both"):
        read(root)
    _, items, ctx = read(root, skip_bad=True)
    assert items[0].split == "test" and len(ctx.problems) == 1  # sorted lists: test.txt is read first


# ---- export --------------------------------------------------------------------------------


def _view(tmp_path: Path, annotations: list[Annotation]) -> MemoryView:
    image = tmp_path / "src" / "part.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (40, 30)).save(image)
    book = LabelBook()
    for annotation in annotations:
        book.add(annotation.label)
    sample = Sample(
        id=1, path="line1/part.png", blob="0" * 64, width=40, height=30, mode="RGB", format="PNG", split="val"
    )
    return MemoryView(labelbook=book, items=[(sample, annotations, image)])


def test_export_reports_losses_and_writes_bounding_boxes(tmp_path: Path) -> None:
    square = np.zeros((30, 40), dtype=bool)
    square[5:10, 20:30] = True
    annotations = [
        Annotation("scratch", Polygon([(1, 2), (11, 4), (6, 12)])),
        Annotation("scratch", RotatedBox(20, 15, 10, 4, 90)),
        Annotation("chip", array_to_mask(square)),
        Annotation("chip", Tag()),
        Annotation("chip", Box(1, 1, 3, 3), {"difficult": True, "pose": "Left", "depth_um": 12.5, "zone": [1, 2]}),
    ]
    out = tmp_path / "out"
    ctx = WriteContext()
    VOC.write(_view(tmp_path, annotations), out, ctx)
    assert ctx.losses == {
        "polygon -> box (VOC holds only axis-aligned boxes)": 1,
        "rotated_box -> box (VOC holds only axis-aligned boxes)": 1,
        "mask -> box (VOC holds only axis-aligned boxes)": 1,
        "tag -> dropped (VOC has no image-level labels)": 1,
        "non-scalar attribute -> JSON text (VOC attributes are text)": 1,
    }
    assert (out / "JPEGImages" / "part.png").is_file()
    assert (out / "ImageSets" / "Main" / "val.txt").read_text() == "part\n"
    root = SafeET.parse(out / "Annotations" / "part.xml").getroot()
    assert root.findtext("size/width") == "40" and root.findtext("filename") == "part.png"
    got = VOC.read(out, ReadContext())
    item = next(got.items)
    assert item.split == "val"
    assert [a.geometry for a in item.annotations] == [
        Box(1, 2, 11, 12),
        Box(18, 10, 22, 20),
        Box(20, 5, 30, 10),
        Box(1, 1, 3, 3),
    ]
    assert item.annotations[-1].attributes == {"difficult": True, "pose": "Left", "depth_um": 12.5, "zone": "[1, 2]"}
    assert got.classes_declared and got.labelbook.names() == ["scratch", "chip"]


def test_export_gives_clashing_stems_distinct_ids(tmp_path: Path) -> None:
    view = _view(tmp_path, [Annotation("scratch", Box(1, 1, 3, 3))])
    sample, annotations, image = view.items[0]
    other = Sample(id=2, path="line2/part.png", blob="1" * 64, width=40, height=30, mode="RGB", format="PNG")
    view.items.append((other, [Annotation("scratch", Box(2, 2, 4, 4))], image))
    VOC.write(view, tmp_path / "out", WriteContext())
    assert sorted(p.name for p in (tmp_path / "out" / "Annotations").iterdir()) == ["2_part.xml", "part.xml"]
