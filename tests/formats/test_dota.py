"""The DOTA adapter: round trips, the real Datumaro/Roboflow samples, bad input, export losses."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepsight.errors import AnnotationError, ParseError
from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.dota.lines import object_line, parse_object
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Points, Polygon, RotatedBox, Sample, Tag
from tests.conftest import write_image
from tests.formats.conformance import FormatConformance

DOTA = get_format("dota")


class TestDotaConformance(FormatConformance):
    format_name = "dota"
    kinds = ["rotated_box"]


def read(path: Path, ctx: ReadContext | None = None) -> list:
    return list(DOTA.read(path, ctx or ReadContext()).items)


# --- real samples ---------------------------------------------------------------------------

# Both folders hold the same labelTxt files (checked by hand): train_001 "0 0 0 2 2 2 2 0 label_0 0",
# train_002 "1 1 1 5 5 5 5 1 label_1 0", val_001 two lines; all images are 10x5 jpgs.
REAL = ["datumaro-test-assets/tests/assets/dota_dataset", "datumaro-test-assets/tests/assets/roboflow_dataset/yolo_obb"]


@pytest.mark.parametrize("folder", REAL, ids=["dota_dataset", "roboflow_yolo_obb"])
def test_real_samples(shared_data: Path, folder: str) -> None:
    root = shared_data / folder
    assert DOTA.detect(root).confidence >= 0.8
    reading = DOTA.read(root, ReadContext())
    assert not reading.classes_declared
    items = {item.path: item for item in reading.items}
    assert sorted(items) == ["train/images/train_001.jpg", "train/images/train_002.jpg", "val/images/val_001.jpg"]
    assert Counter(i.split for i in items.values()) == {"train": 2, "val": 1}
    annotations = [a for i in items.values() for a in i.annotations]
    assert Counter((a.kind, a.label) for a in annotations) == {
        ("rotated_box", "label_0"): 2,
        ("rotated_box", "label_1"): 2,
    }
    assert all(a.attributes == {} for a in annotations)  # every difficult flag is 0
    # val_001 line 2, "1 2 1 5 10 5 10 2": corner 0 -> 1 points down (+y), so 90 degrees, 3 long, 9 wide.
    # The quad winds counter-clockwise on screen (DOTA's is clockwise), so only the corner set matches.
    last = items["val/images/val_001.jpg"].annotations[1].geometry
    assert last.to_json() == pytest.approx([5.5, 3.5, 3.0, 9.0, 90.0])
    assert sorted(map(tuple, last.corners().round(6))) == [(1, 2), (1, 5), (10, 2), (10, 5)]
    assert items["train/images/train_001.jpg"].origin == "train/labelTxt/train_001.txt"


# --- synthetic datasets -----------------------------------------------------------------------


def make_dataset(root: Path, labels: dict[str, str]) -> Path:
    for stem, text in labels.items():
        write_image(root / "images" / f"{stem}.png", size=(40, 20))
        (root / "labelTxt").mkdir(parents=True, exist_ok=True)
        (root / "labelTxt" / f"{stem}.txt").write_text(text)
    return root


def test_flat_layout_header_difficult_and_spaced_category(tmp_path: Path) -> None:
    text = "imagesource:GoogleEarth\ngsd:0.146\n1 1 9 1 9 5 1 5 small-vehicle 1\n2 2 6 2 6 4 2 4 storage tank 0\n"
    root = make_dataset(tmp_path, {"P0001": text})
    assert DOTA.detect(root).confidence >= 0.8
    (item,) = read(root)
    assert item.split is None and item.path == "images/P0001.png"
    assert item.metadata == {"imagesource": "GoogleEarth", "gsd": 0.146}
    car, tank = item.annotations
    assert (car.label, car.attributes) == ("small-vehicle", {"difficult": True})
    assert car.geometry.to_json() == pytest.approx([5, 3, 8, 4, 0])
    assert (tank.label, tank.attributes) == ("storage tank", {})


def test_label_without_image_and_image_without_label(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"a": "0 0 4 0 4 2 0 2 ship 0\n"})
    (root / "labelTxt" / "lost.txt").write_text("0 0 4 0 4 2 0 2 ship 0\n")
    write_image(root / "images" / "bare.jpg")
    items = {i.path: i for i in read(root)}
    assert items["images/lost.png"].source == root / "images" / "lost.png"
    assert items["images/bare.jpg"].annotations == []
    assert len(items["images/a.png"].annotations) == 1


BAD_LINES = [
    ("1 1 9 1 9 5 1 5\n", ParseError, "got 8 fields"),
    ("1 1 9 1 9 nan 1 5 ship 0\n", AnnotationError, "NaN"),
    ("1 1 9 1 9 five 1 5 ship 0\n", ParseError, "'five' is not a number"),
]


@pytest.mark.parametrize(("line", "error", "message"), BAD_LINES)
def test_bad_object_line(tmp_path: Path, line: str, error: type, message: str) -> None:
    root = make_dataset(
        tmp_path, {"bad": f"gsd:0.5\n0 0 4 0 4 2 0 2 ship 0\n{line}", "good": "0 0 4 0 4 2 0 2 ship 0\n"}
    )
    with pytest.raises(error) as caught:
        read(root)
    assert message in str(caught.value) and "bad.txt" in str(caught.value)
    assert caught.value.element == "line 3"
    ctx = ReadContext(skip_bad=True)
    items = {Path(i.path).stem: i for i in read(root, ctx)}
    assert len(items["bad"].annotations) == 1 and len(items["good"].annotations) == 1
    assert [type(e) for e in ctx.problems] == [error]


def test_binary_label_file_is_a_parse_error(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, {"bad": "", "good": "0 0 4 0 4 2 0 2 ship 0\n"})
    (root / "labelTxt" / "bad.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ParseError) as caught:
        read(root)
    assert "bad.txt" in str(caught.value)
    ctx = ReadContext(skip_bad=True)
    assert [Path(i.path).stem for i in read(root, ctx)] == ["good"] and len(ctx.problems) == 1


def test_detect_rejects_with_reasons(tmp_path: Path) -> None:
    detection = DOTA.detect(tmp_path)
    assert detection.confidence == 0 and "labelTxt" in detection.reasons[0]
    (tmp_path / "labelTxt").mkdir()
    (tmp_path / "labelTxt" / "x.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    assert DOTA.detect(tmp_path).confidence < 0.3


# --- export -----------------------------------------------------------------------------------


def view_of(
    tmp_path: Path,
    annotations: list[Annotation],
    *,
    split: str = "train",
    metadata: dict | None = None,
    book: LabelBook | None = None,
) -> MemoryView:
    image = write_image(tmp_path / "src" / "img.png", size=(40, 20))
    sample = Sample(
        id=1,
        path="img.png",
        blob="0" * 64,
        width=40,
        height=20,
        mode="RGB",
        format="PNG",
        split=split,
        metadata=metadata or {},
    )
    if book is None:
        book = LabelBook()
        for a in annotations:
            book.add(a.label)
    return MemoryView(labelbook=book, items=[(sample, annotations, image)])


def export(view: MemoryView, dest: Path) -> WriteContext:
    ctx = WriteContext()
    DOTA.write(view, dest, ctx)
    return ctx


def test_export_keeps_direction_difficult_and_header_without_loss(tmp_path: Path) -> None:
    book = LabelBook()
    book.add("arrow", orientation="directed")
    anns = [Annotation("arrow", RotatedBox(20, 10, 8, 4, 200), {"difficult": True})]
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns, split="unassigned", metadata={"gsd": None}, book=book), dest)
    assert not ctx.losses
    assert (dest / "labelTxt" / "img.txt").read_text().splitlines()[0] == "gsd:null"
    (item,) = read(dest)
    assert item.split is None and item.metadata == {"gsd": None}
    assert item.annotations[0].same_content(anns[0], tol=1e-3)


def test_export_losses(tmp_path: Path) -> None:
    anns = [
        Annotation("a", Box(2, 2, 10, 6)),
        Annotation("a", Polygon([(1, 1), (9, 1), (9, 5), (1, 5)])),
        Annotation("a", Polygon([(1, 1), (9, 1), (9, 5), (5, 8), (1, 5)])),
        Annotation("a", Points([(3, 3)])),
        Annotation("a", Tag()),
        Annotation("a", RotatedBox(20, 10, 8, 4, 30), {"truncated": True}),
    ]
    book = LabelBook()
    book.add("a")
    book.add("unused")
    dest = tmp_path / "out"
    ctx = export(view_of(tmp_path, anns, book=book), dest)
    assert dict(ctx.losses) == {
        "box -> rotated_box (DOTA quads read back as rotated boxes)": 1,
        "polygon -> rotated_box (4-point polygons read back as their tightest rotated box)": 1,
        "polygon -> rotated_box (DOTA holds 4 corners: minimum-area rectangle written)": 1,
        "points dropped (DOTA holds only oriented boxes)": 1,
        "tag dropped (DOTA holds only oriented boxes)": 1,
        "attributes dropped (DOTA keeps only 'difficult')": 1,
        "classes without objects dropped (DOTA has no class list)": 1,
    }
    (item,) = read(dest)
    assert item.split == "train" and item.path == "train/images/img.png"
    geometries = [a.geometry for a in item.annotations]
    assert [g.kind for g in geometries] == ["rotated_box"] * 4
    assert geometries[0].to_json() == pytest.approx([6, 4, 8, 4, 0])
    assert geometries[2].bounds() == pytest.approx((1, 1, 9, 8), abs=1e-3)  # the rectangle holds the polygon


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    corner=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
    size=st.tuples(st.floats(1, 300), st.floats(1, 300)),
    angle=st.floats(0, 359.99),
)
def test_quad_rotated_box_quad_round_trip(corner: tuple[float, float], size: tuple[float, float], angle: float) -> None:
    # A rectangle built from corner 0, its heading and its sides, independently of RotatedBox.corners().
    w, h = size
    rad = math.radians(angle)
    along, across = np.array([math.cos(rad), math.sin(rad)]), np.array([-math.sin(rad), math.cos(rad)])
    p0 = np.array(corner)
    quad = np.array([p0, p0 + w * along, p0 + w * along + h * across, p0 + h * across])
    box, category, difficult = parse_object(object_line(quad, "plane", False).split())
    assert (category, difficult) == ("plane", False)
    assert box.w == pytest.approx(w, abs=1e-3) and box.h == pytest.approx(h, abs=1e-3)
    assert abs((box.angle - angle + 180) % 360 - 180) < 1e-2
    assert box.corners() == pytest.approx(quad, abs=1e-3)  # same corners, in the same order
