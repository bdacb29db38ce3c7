"""CVAT for images 1.1: round trip, datumaro's samples, masks and rotation, bad input, export losses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from defusedxml import ElementTree as SafeET
from PIL import Image

from keepsight.errors import AnnotationError, FormatError, ParseError, UnsafePathError
from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, AttributeSpec, Box, LabelBook, Mask, Polygon, RotatedBox, Sample, Tag
from keepsight.model.convert import array_to_mask
from tests.formats.conformance import FormatConformance

CVAT = get_format("cvat")
ASSETS = Path("datumaro-test-assets/tests/assets/cvat_dataset")
META = """<meta><task><name>t</name><subset>Train</subset><labels>
  <label><name>scratch</name><color>#ff0000</color><attributes>
    <attribute><name>depth</name><input_type>number</input_type><values>0\n10\n1</values></attribute>
    <attribute><name>ok</name><input_type>checkbox</input_type><values>false</values></attribute>
  </attributes></label>
  <label><name>chip</name><attributes/></label>
</labels></task></meta>"""


class TestCvatConformance(FormatConformance):
    format_name = "cvat"
    kinds = ["box", "rotated_box", "polygon", "polyline", "points", "mask", "tag"]


def cvat_dir(root: Path, images: str, *, meta: str = META, size: tuple[int, int] = (8, 6)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "annotations.xml").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n{meta}\n{images}\n'
        "</annotations>\n",
        encoding="utf-8",
    )
    (root / "images").mkdir(exist_ok=True)
    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", size).save(root / "images" / name)
    return root


def image(name: str, body: str, image_id: int = 0, size: tuple[int, int] = (8, 6)) -> str:
    return f'<image id="{image_id}" name="{name}" width="{size[0]}" height="{size[1]}">\n{body}\n</image>'


def read(path: Path, **kwargs):
    ctx = ReadContext(**kwargs)
    reading = CVAT.read(path, ctx)
    return reading, list(reading.items), ctx


# ---- real data -----------------------------------------------------------------------------


def test_datumaro_project_export(shared_data: Path) -> None:
    root = shared_data / ASSETS / "for_images" / "export_project"
    assert CVAT.detect(root).confidence >= 0.8
    reading, items, ctx = read(root)
    assert not ctx.problems and reading.classes_declared
    assert sorted((item.path, item.split) for item in items) == [
        ("images/Test/img0.jpg", "test"),
        ("images/Test/img1.jpg", "test"),
        ("images/Train/img0.jpg", "train"),
        ("images/Train/img1.jpg", "train"),
        ("images/Validation/img0.jpg", "val"),
        ("images/Validation/img1.jpg", "val"),
    ]
    assert all(isinstance(item.source, Path) and item.source.is_file() for item in items)
    annotations = [a for item in items for a in item.annotations]
    assert Counter((a.label, a.kind) for a in annotations) == {
        ("label1", "box"): 3,
        ("label2", "polyline"): 3,
        ("label1", "polygon"): 3,
        ("label2", "points"): 3,
    }
    box = next(a for a in annotations if a.kind == "box")
    assert box.geometry == Box(0, 2, 4, 4)
    # typed by the <meta> declarations: checkbox -> bool, number -> float, text "0003" stays text
    assert box.attributes == {"occluded": True, "z_order": 1, "a1": True, "a2": "v3", "a3": "0003", "a4": 2.4}
    specs = reading.labelbook.classes["label1"].attributes
    assert {name: spec.type for name, spec in specs.items()} == {
        "a1": "bool",
        "a2": "choice",
        "a3": "text",
        "a4": "number",
    }
    assert specs["a2"].choices == ["v1", "v2", "v3"]


def test_datumaro_task_export_has_unlabelled_shapes(shared_data: Path) -> None:
    root = shared_data / ASSETS / "for_images" / "export_task"
    with pytest.raises(AnnotationError) as info:
        read(root)
    assert "train.xml (image id 0, polyline 1)" in str(info.value) and "no label" in str(info.value)
    _, items, ctx = read(root, skip_bad=True)
    assert [(item.path, item.split) for item in items] == [("images/img0.jpg", "train"), ("images/img1.jpg", "train")]
    assert [[a.kind for a in item.annotations] for item in items] == [["box"], ["points"]]
    assert len(ctx.problems) == 2


def test_cvat_for_video_is_rejected_with_a_reason(shared_data: Path) -> None:
    root = shared_data / ASSETS / "for_video"
    detection = CVAT.detect(root)
    assert detection.confidence == 0 and "CVAT for video" in detection.reasons[0]
    with pytest.raises(FormatError, match="annotations.xml.*<track>"):
        read(root)


# ---- geometry ------------------------------------------------------------------------------


def test_rotation_and_mask_rle(tmp_path: Path) -> None:
    body = (
        '<box label="scratch" xtl="1" ytl="2" xbr="7" ybr="4" rotation="30"/>\n'
        '<box label="chip" xtl="1" ytl="2" xbr="7" ybr="4" rotation="0.0" occluded="0" z_order="0"/>\n'
        '<mask label="chip" source="auto" rle="1, 2, 3, 1, 2" left="2" top="1" width="3" height="3"/>\n'
        '<tag label="chip"/>'
    )
    root = cvat_dir(tmp_path, image("a.jpg", body))
    _, items, _ = read(root)
    rotated, box, mask, tag = items[0].annotations
    assert rotated.geometry == RotatedBox(4, 3, 6, 2, 30)
    assert (box.geometry, box.attributes) == (Box(1, 2, 7, 4), {})
    ys, xs = np.nonzero(mask.geometry.decode())
    assert sorted(zip(xs.tolist(), ys.tolist(), strict=True)) == [(2, 3), (3, 1), (4, 1)]  # rows 0 1 1 / 0 0 0 / 1 0 0
    assert mask.geometry.decode().shape == (6, 8) and mask.attributes == {"source": "auto"}
    assert isinstance(tag.geometry, Tag)
    assert items[0].split == "train"  # the task's <subset>


def test_written_mask_uses_cvat_rle(tmp_path: Path) -> None:
    array = np.zeros((6, 8), dtype=bool)
    array[1, 3:5] = True
    array[3, 2] = True
    view = _view(tmp_path, [Annotation("chip", array_to_mask(array))])
    CVAT.write(view, tmp_path / "out", WriteContext())
    mask = SafeET.parse(tmp_path / "out" / "annotations.xml").getroot().find("image/mask")
    assert mask is not None
    assert {k: mask.get(k) for k in ("rle", "left", "top", "width", "height")} == {
        "rle": "1, 2, 3, 1, 2",
        "left": "2",
        "top": "1",
        "width": "3",
        "height": "3",
    }


# ---- bad input -----------------------------------------------------------------------------


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    root = cvat_dir(
        tmp_path,
        image("a.jpg", '<box label="chip" xtl="1" ytl="1" xbr="2" ybr="2"/>')
        + '\n<image id="1" name="b.jpg"><box label="chip"></image>',
    )
    with pytest.raises(ParseError) as info:
        read(root)
    lines = (root / "annotations.xml").read_text().splitlines()
    broken = next(n for n, line in enumerate(lines, start=1) if 'name="b.jpg"' in line)
    assert "annotations.xml" in str(info.value) and info.value.element == f"line {broken}"
    _, items, ctx = read(root, skip_bad=True)
    assert [item.path for item in items] == ["images/a.jpg"] and len(ctx.problems) == 1


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ('<box label="dent" xtl="1" ytl="1" xbr="2" ybr="2"/>', "'dent' is not declared"),
        ('<box label="chip" xtl="nan" ytl="1" xbr="2" ybr="2"/>', "NaN"),
        ('<polygon label="chip" points="1,2;3"/>', "x,y;x,y"),
        ('<mask label="chip" rle="1, 2" left="0" top="0" width="2" height="2"/>', "covers 3 pixels"),
        ('<mask label="chip" rle="4" left="7" top="0" width="2" height="2"/>', "not inside"),
        ('<ellipse label="chip" cx="1" cy="1" rx="1" ry="1"/>', "not supported"),
        (
            '<box label="scratch" xtl="1" ytl="1" xbr="2" ybr="2"><attribute name="ok">maybe</attribute></box>',
            "checkbox",
        ),
    ],
)
def test_bad_shapes_are_annotation_errors(tmp_path: Path, shape: str, message: str) -> None:
    root = cvat_dir(tmp_path, image("a.jpg", '<box label="chip" xtl="1" ytl="1" xbr="2" ybr="2"/>\n' + shape))
    with pytest.raises(AnnotationError, match=message) as info:
        read(root)
    assert info.value.path.endswith("annotations.xml") and info.value.element.startswith("image id 0, ")
    _, items, ctx = read(root, skip_bad=True)
    assert [a.geometry for a in items[0].annotations] == [Box(1, 1, 2, 2)] and len(ctx.problems) == 1


def test_escaping_image_name_is_refused(tmp_path: Path) -> None:
    root = cvat_dir(tmp_path / "ds", image("../../etc/passwd", "", 0) + image("b.jpg", "", 1))
    with pytest.raises(UnsafePathError, match="image id 0"):
        read(root)
    _, items, ctx = read(root, skip_bad=True)
    assert [item.path for item in items] == ["images/b.jpg"] and len(ctx.problems) == 1


def test_undeclared_labels_are_accepted_without_meta_labels(tmp_path: Path) -> None:
    root = cvat_dir(
        tmp_path,
        image("a.jpg", '<box label="dent" xtl="1" ytl="1" xbr="2" ybr="2"/>'),
        meta="<meta><task><name>t</name></task></meta>",
    )
    reading, items, _ = read(root)
    assert not reading.classes_declared and items[0].annotations[0].label == "dent"


# ---- export --------------------------------------------------------------------------------


def _view(tmp_path: Path, annotations: list[Annotation], book: LabelBook | None = None) -> MemoryView:
    image_path = tmp_path / "src" / "a.png"
    image_path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6)).save(image_path)
    book = book or LabelBook()
    for annotation in annotations:
        book.add(annotation.label)
    sample = Sample(id=1, path="line1/a.png", blob="0" * 64, width=8, height=6, mode="RGB", format="PNG", split="test")
    return MemoryView(labelbook=book, items=[(sample, annotations, image_path)])


def test_export_keeps_attributes_typed_and_reports_losses(tmp_path: Path) -> None:
    book = LabelBook()
    book.add("scratch", attributes={"grade": AttributeSpec(type="choice", choices=["A", "B"])})
    annotations = [
        Annotation(
            "scratch",
            Box(1, 1, 3, 3),
            {"grade": "B", "depth": 2.5, "ok": True, "occluded": True, "z_order": 2, "zone": [1, 2]},
        ),
        Annotation("scratch", Polygon([(1, 1), (4, 1), (4, 4)]), {"depth": "deep"}),
        Annotation("chip", Mask(6, 8, array_to_mask(np.zeros((6, 8), dtype=bool)).counts)),
        Annotation("chip", Tag(), {"ok": False}),
    ]
    ctx = WriteContext()
    CVAT.write(_view(tmp_path, annotations, book), tmp_path / "out", ctx)
    assert ctx.losses == {
        "non-scalar attribute -> JSON text (CVAT attributes are scalars)": 1,
        "attribute of mixed types -> text (a CVAT attribute has one type)": 1,
        "empty mask -> dropped (a CVAT mask needs at least one pixel)": 1,
    }
    assert (tmp_path / "out" / "images" / "line1" / "a.png").is_file()
    reading, items, ctx_read = read(tmp_path / "out")
    assert not ctx_read.problems
    box, polygon, tag = items[0].annotations
    assert box.attributes == {
        "grade": "B",
        "depth": "2.5",
        "ok": True,
        "occluded": True,
        "z_order": 2,
        "zone": "[1, 2]",
    }
    assert polygon.attributes == {"depth": "deep"} and tag.attributes == {"ok": False}
    specs = reading.labelbook.classes["scratch"].attributes
    assert specs["grade"].choices == ["A", "B"] and specs["ok"].type == "bool"
    assert items[0].path == "images/line1/a.png" and items[0].split == "test"
