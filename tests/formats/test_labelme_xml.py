"""LabelMe XML (MIT web tool): the datumaro sample, masks, attributes and parts, bad input, detection vs VOC."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import ReadContext
from keepsight.formats.labelme.xml_read import parse_attributes
from keepsight.formats.registry import get_format
from keepsight.model import Box, Polygon

LABELME = get_format("labelme")
VOC = get_format("voc")
SAMPLE = "datumaro-test-assets/tests/assets/labelme_dataset"


def read(path: Path, **kwargs):
    ctx = ReadContext(**kwargs)
    return list(LABELME.read(path, ctx).items), ctx


def polygon(*points: tuple[object, object]) -> str:
    points = points or ((1, 1), (4, 1), (4, 3), (1, 3))
    return "<polygon>" + "".join(f"<pt><x>{x}</x><y>{y}</y></pt>" for x, y in points) + "</polygon>"


def obj(name: str = "scratch", geometry: str | None = None, **tags: str) -> str:
    extra = "".join(f"<{tag}>{text}</{tag}>" for tag, text in tags.items())
    return f"<object><name>{name}</name>{extra}{polygon() if geometry is None else geometry}</object>"


def tree(root: Path, files: dict[str, str], subset: str = "train") -> Path:
    """Annotations/<subset>/<stem>.xml (body = objects, or a whole document) and an 8x6 Images/<subset>/<stem>.png."""
    for stem, body in files.items():
        document = (
            body
            if body.startswith("<?xml")
            else (
                f"<annotation><filename>{stem}.png</filename><folder>{subset}</folder>"
                f"<imagesize><nrows>6</nrows><ncols>8</ncols></imagesize>{body}</annotation>"
            )
        )
        for folder in ("Annotations", "Images"):
            (root / folder / subset).mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / subset / f"{stem}.xml").write_text(document, encoding="utf-8")
        Image.new("RGB", (8, 6)).save(root / "Images" / subset / f"{stem}.png")
    return root


def mask_png(root: Path, name: str, array: np.ndarray, subset: str = "train") -> None:
    (root / "Masks" / subset).mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(root / "Masks" / subset / name)


# ---- real data -----------------------------------------------------------------------------


def test_datumaro_sample(shared_data: Path) -> None:
    root = shared_data / SAMPLE
    assert LABELME.detect(root).confidence >= 0.8
    assert LABELME.detect(root / "Annotations").root == root
    assert LABELME.detect(root / "Annotations" / "subset1" / "img1.xml").root == root
    items, ctx = read(root)
    assert not ctx.problems
    # Masks/ and Scribbles/ PNGs are not samples: one image, one XML.
    assert [(item.path, item.origin) for item in items] == [("Images/subset1/img1.png", "Annotations/subset1/img1.xml")]
    item = items[0]
    assert item.expected_size == (102, 77) and item.split is None and item.metadata == {"subset": "subset1"}
    by_label = {a.label: a for a in item.annotations}
    # 7 objects: 4 <polygon>, 1 <polygon> typed bounding_box, 2 <segm> (m1 is typed bounding_box but has a mask).
    assert Counter(a.kind for a in item.annotations) == {"polygon": 4, "box": 1, "mask": 2}
    assert list(by_label) == ["window", "license plate", "o1", "q1", "b1", "m1", "hg"]
    assert by_label["b1"].geometry == Box(13, 19, 23, 30)
    assert len(by_label["o1"].geometry.points) == 7
    # Mask PNGs are full-image RGBA; pixels with any non-zero channel: 10 and 130 (counted with numpy).
    assert by_label["license plate"].geometry.area() == 10 and by_label["m1"].geometry.area() == 130
    assert by_label["m1"].geometry.bounds() == (55, 14, 70, 24)
    # <id>s 2 and 5 are the 3rd and 6th objects; q1 and b1 are parts of o1, hg of m1.
    assert {label: a.attributes for label, a in by_label.items()} == {
        "window": {},
        "license plate": {},
        "o1": {"a1": True, "occluded": True},
        "q1": {"kj": True, "part_of": 3},
        "b1": {"hg": True, "occluded": True, "part_of": 3},
        "m1": {"d": True},
        "hg": {"gfd lkj lkj hi": True, "part_of": 6},
    }


def test_voc_rejects_labelme_xml_and_labelme_rejects_voc(shared_data: Path, tmp_path: Path) -> None:
    assert VOC.detect(shared_data / SAMPLE).confidence == 0
    synthetic = tree(tmp_path / "lm", {"a": obj()})
    assert VOC.detect(synthetic).confidence == 0 and LABELME.detect(synthetic).confidence >= 0.8
    voc = shared_data / "datumaro-test-assets/tests/assets/voc_dataset/voc_dataset1"
    assert VOC.detect(voc).confidence >= 0.8
    assert LABELME.detect(voc).confidence == 0 and LABELME.detect(voc / "Annotations").confidence == 0


# ---- geometry, attributes, layout ----------------------------------------------------------


def test_bounding_box_type_only_for_axis_aligned_rectangles(tmp_path: Path) -> None:
    skewed = polygon((1, 1), (4, 1), (5, 3), (1, 3))
    root = tree(tmp_path, {"a": obj(type="bounding_box") + obj(geometry=skewed, type="bounding_box")})
    (item,), _ = read(root)
    assert item.annotations[0].geometry == Box(1, 1, 4, 3)
    assert isinstance(item.annotations[1].geometry, Polygon)


def test_box_sized_and_image_sized_masks(tmp_path: Path) -> None:
    region = np.array([[1, 0, 1], [0, 1, 0]], dtype=np.uint8) * 255
    segm = "<segm><mask>{}</mask><box><xmin>4</xmin><ymin>2</ymin><xmax>6</xmax><ymax>3</ymax></box></segm>"
    root = tree(tmp_path, {"a": obj(geometry=segm.format("a_mask_0.png")) + obj(geometry=segm.format("full.png"))})
    mask_png(root, "a_mask_0.png", region)  # 3x2 = the inclusive <box>: placed at (4, 2)
    full = np.zeros((6, 8), dtype=np.uint8)
    full[5, 7] = 1
    mask_png(root, "full.png", full)
    (item,), _ = read(root)
    placed = item.annotations[0].geometry.decode()
    assert placed.shape == (6, 8) and placed[2:4, 4:7].tolist() == (region > 0).tolist() and placed.sum() == 3
    assert np.argwhere(item.annotations[1].geometry.decode()).tolist() == [[5, 7]]


def test_deleted_objects_and_their_parts(tmp_path: Path) -> None:
    parts = "<hasparts></hasparts><ispartof>{}</ispartof>"
    objects = (
        obj("whole", id="0", deleted="1")
        + obj("part", id="1", parts=parts.format(0))
        + obj("kept", id="7")
        + obj("sub", id="2", parts=parts.format(7))
    )
    (item,), _ = read(tree(tmp_path, {"a": objects}))
    assert [(a.label, a.attributes) for a in item.annotations] == [("part", {}), ("kept", {}), ("sub", {"part_of": 3})]


def test_attribute_text() -> None:
    text = r'a1, color=red, n=3, ratio=0.5, ok=true, code="12", x\,y=1\=2, spaced flag'
    assert parse_attributes(text) == {
        "a1": True,
        "color": "red",
        "n": 3,
        "ratio": 0.5,
        "ok": True,
        "code": "12",
        "x,y": "1=2",
        "spaced flag": True,
    }


def test_subset_folders_split_or_metadata_and_unannotated_images(tmp_path: Path) -> None:
    tree(tmp_path, {"a": obj()}, subset="Validation")
    tree(tmp_path, {"b": obj()}, subset="site_3")
    Image.new("RGB", (8, 6)).save(tmp_path / "Images" / "site_3" / "c.jpg")
    mask_png(tmp_path, "b_mask_0.png", np.zeros((6, 8), dtype=np.uint8), subset="site_3")  # not a sample
    items, _ = read(tmp_path)
    assert [(i.path, i.split, i.metadata, len(i.annotations)) for i in items] == [
        ("Images/Validation/a.png", "val", {}, 1),
        ("Images/site_3/b.png", None, {"subset": "site_3"}, 1),
        ("Images/site_3/c.jpg", None, {"subset": "site_3"}, 0),
    ]


# ---- bad input -----------------------------------------------------------------------------


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    root = tree(tmp_path, {"a": obj(), "b": "<?xml version='1.0'?>\n<annotation>\n<object>\n</annotation>"})
    with pytest.raises(ParseError) as info:
        read(root)
    assert "b.xml" in str(info.value) and info.value.element == "line 4"
    items, ctx = read(root, skip_bad=True)
    assert [(i.path, len(i.annotations)) for i in items] == [("Images/train/a.png", 1), ("Images/train/b.png", 0)]
    assert [type(p) for p in ctx.problems] == [ParseError]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (obj(geometry=polygon((1, 1), (2, "a"), (2, 2))), "y of point 2 is not a number"),
        (obj(geometry=polygon(("nan", 1), (2, 1), (2, 2))), "NaN"),
        (obj(geometry=polygon((1, 1), (2, 2))), "at least 3 vertices"),
        (obj(geometry=""), "neither <polygon> nor <segm>"),
        (obj(deleted="maybe"), "<deleted> is not a number"),
        (obj(parts="<ispartof>9</ispartof>"), "<ispartof> 9 names no object"),
        (obj(geometry="<segm><mask>gone.png</mask></segm>"), "Masks/train/gone.png is missing"),
    ],
)
def test_bad_object_names_file_and_object(tmp_path: Path, bad: str, message: str) -> None:
    root = tree(tmp_path, {"a": obj("good") + bad + obj("after")})
    with pytest.raises(AnnotationError, match=message) as info:
        read(root)
    assert info.value.path.endswith("a.xml") and info.value.element == "object 2"
    (item,), ctx = read(root, skip_bad=True)
    assert [a.label for a in item.annotations] == ["good", "after"] and len(ctx.problems) == 1


def test_mask_of_the_wrong_size(tmp_path: Path) -> None:
    segm = "<segm><mask>m.png</mask><box><xmin>0</xmin><ymin>0</ymin><xmax>2</xmax><ymax>2</ymax></box></segm>"
    root = tree(tmp_path, {"a": obj(geometry=segm)})
    mask_png(root, "m.png", np.ones((5, 5), dtype=np.uint8))
    with pytest.raises(AnnotationError, match="neither the 8x6 image nor its <box>") as info:
        read(root)
    assert info.value.element == "object 1"


def test_bad_imagesize_and_escaping_filename(tmp_path: Path) -> None:
    root = tree(tmp_path, {"a": obj(), "b": obj()})
    xml = root / "Annotations" / "train" / "b.xml"
    xml.write_text(xml.read_text().replace("<ncols>8</ncols>", "<ncols>8.5</ncols>"))
    with pytest.raises(AnnotationError, match="imagesize/ncols is not an integer") as info:
        read(root)
    assert info.value.path.endswith("b.xml")
    xml.write_text(xml.read_text().replace("b.png", "../../../secret.png"))
    with pytest.raises(UnsafePathError, match="b.xml.*escapes"):
        read(root)
    items, ctx = read(root, skip_bad=True)
    assert [(i.path, len(i.annotations)) for i in items] == [("Images/train/a.png", 1), ("Images/train/b.png", 0)]
    assert [type(p) for p in ctx.problems] == [UnsafePathError]
