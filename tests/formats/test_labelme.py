"""LabelMe JSON: round trip, BSData, image resolution, circles and masks, bad input, export losses."""

from __future__ import annotations

import base64
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Points, Polygon, RotatedBox, Sample, Tag
from tests.formats.conformance import FormatConformance

LABELME = get_format("labelme")


class TestLabelmeConformance(FormatConformance):
    format_name = "labelme"
    kinds = ["box", "polygon", "polyline", "points", "mask", "tag"]


def read(path: Path, **kwargs):
    ctx = ReadContext(**kwargs)
    reading = LABELME.read(path, ctx)
    return reading, list(reading.items), ctx


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_json(path: Path, shapes: list[dict[str, Any]], image_path: str | None = "a.png", **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "version": "5.5.0",
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": None,
        "imageHeight": 6,
        "imageWidth": 8,
        **extra,
    }
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def shape(kind: str, points: list[list[float]], label: str = "scratch", **extra: Any) -> dict[str, Any]:
    return {"label": label, "points": points, "group_id": None, "shape_type": kind, "flags": {}, **extra}


def image(path: Path, size: tuple[int, int] = (8, 6)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size).save(path)
    return path


# ---- real data -----------------------------------------------------------------------------


def test_bsdata(shared_data: Path) -> None:
    root = shared_data / "bsdata"
    assert LABELME.detect(root).confidence >= 0.8
    reading, items, ctx = read(root)
    assert not ctx.problems and not reading.classes_declared  # image_data.json is skipped, not an error
    # 207 images in data/ (69 KGT + 2 spots x 69) plus data/BSD/test/01_200905161814_560000_000_crop_2.jpg
    assert len(items) == 208
    assert Counter(item.path.rsplit("/", 1)[0] for item in items) == {"data": 207, "data/BSD/test": 1}
    assert all(isinstance(item.source, Path) and item.source.is_file() for item in items)  # never the imageData
    annotated = [item for item in items if item.annotations]
    assert len(annotated) == 98
    assert all(item.origin == f"label/{Path(item.path).stem}.json" for item in annotated)
    assert Counter((a.label, a.kind) for item in items for a in item.annotations) == {("Pitting", "polygon"): 157}
    sample = next(i for i in annotated if i.path == "data/01_200905041126_277500_315_crop_2.jpg")
    assert sample.expected_size == (1130, 460) and len(sample.annotations[0].geometry.points) == 25


# ---- image resolution ----------------------------------------------------------------------


def test_image_beside_json_then_elsewhere_then_embedded(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    image(tmp_path / "data" / "b.png")
    write_json(tmp_path / "a.json", [shape("rectangle", [[5, 4], [1, 2]])], "a.png")
    write_json(tmp_path / "label" / "b.json", [], "b.png")  # like BSData: label/ + data/
    write_json(
        tmp_path / "label" / "c.json",
        [],
        "../data/sub/../c.png",
        imageData=base64.b64encode(png_bytes(np.zeros((6, 8), np.uint8))).decode(),
    )
    image(tmp_path / "data" / "lonely.png")
    _, items, ctx = read(tmp_path)
    assert not ctx.problems
    found = {item.path: item for item in items}
    assert set(found) == {"a.png", "data/b.png", "label/c.png", "data/lonely.png"}
    assert found["a.png"].annotations[0].geometry == Box(1, 2, 5, 4)  # corners in any order
    assert found["data/b.png"].origin == "label/b.json"
    embedded = found["label/c.png"].source
    assert isinstance(embedded, bytes) and Image.open(io.BytesIO(embedded)).size == (8, 6)
    assert not found["data/lonely.png"].annotations and found["data/lonely.png"].origin is None


@pytest.mark.parametrize(
    ("image_path", "message"),
    [("../../outside.png", "escapes"), ("/etc/x.png", "absolute"), ("C:\\data\\x.png", "absolute")],
)
def test_unsafe_image_path_is_refused(tmp_path: Path, image_path: str, message: str) -> None:
    image(tmp_path / "ds" / "a.png")
    write_json(tmp_path / "ds" / "a.json", [shape("point", [[1, 1]])], "a.png")
    write_json(tmp_path / "ds" / "sub" / "b.json", [shape("point", [[1, 1]])], image_path)
    with pytest.raises(UnsafePathError, match=message) as info:
        read(tmp_path / "ds")
    assert info.value.path.endswith("b.json") and info.value.element == "imagePath"
    _, items, ctx = read(tmp_path / "ds", skip_bad=True)
    assert [item.path for item in items] == ["a.png"] and len(ctx.problems) == 1


# ---- shapes --------------------------------------------------------------------------------


def test_shape_kinds_flags_and_attributes(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    region = np.array([[0, 1, 1], [0, 0, 0]], dtype=np.uint8)  # LabelMe stores 0/1 PNGs of the mask box
    shapes = [
        shape("polygon", [[1, 1], [4, 1], [4, 4]], group_id=3, description="near weld", flags={"reviewed": True}),
        shape("linestrip", [[0, 0], [2, 2], [4, 0]]),
        shape("line", [[0, 0], [2, 2]]),
        shape("point", [[3, 3]]),
        shape("circle", [[4, 3], [4, 5]]),
        shape("mask", [[2, 1], [4, 2]], mask=base64.b64encode(png_bytes(region)).decode()),
        {"label": "chip", "points": [[1, 1], [2, 2], [1, 2]]},  # LabelMe 3: no shape_type = polygon
    ]
    write_json(tmp_path / "a.json", shapes, flags={"defective": True, "blurry": False})
    _, items, _ = read(tmp_path)
    kinds = [(a.label, a.kind) for a in items[0].annotations]
    assert kinds == [
        ("scratch", "polygon"),
        ("scratch", "polyline"),
        ("scratch", "polyline"),
        ("scratch", "points"),
        ("scratch", "polygon"),
        ("scratch", "mask"),
        ("chip", "polygon"),
        ("defective", "tag"),
    ]
    polygon, _, _, point, circle, mask, _, _ = items[0].annotations
    assert polygon.attributes == {"reviewed": True, "group_id": 3, "description": "near weld"}
    assert point.geometry == Points([(3, 3)])
    assert circle.attributes == {"labelme_shape": "circle", "circle_cx": 4.0, "circle_cy": 3.0, "circle_radius": 2.0}
    assert len(circle.geometry.points) == 64
    assert all(math.isclose(math.dist(p, (4, 3)), 2.0) for p in circle.geometry.points)
    ys, xs = np.nonzero(mask.geometry.decode())
    assert sorted(zip(xs.tolist(), ys.tolist(), strict=True)) == [(3, 1), (4, 1)]


def test_circle_and_mask_write_back_as_labelme_shapes(tmp_path: Path) -> None:
    image(tmp_path / "in" / "a.png")
    region = np.array([[1, 0], [1, 1]], dtype=np.uint8)
    write_json(
        tmp_path / "in" / "a.json",
        [
            shape("circle", [[4, 3], [4, 5]]),
            shape("mask", [[5, 2], [6, 3]], mask=base64.b64encode(png_bytes(region)).decode()),
        ],
    )
    _, items, _ = read(tmp_path / "in")
    view = _view(tmp_path, items[0].annotations)
    ctx = WriteContext()
    LABELME.write(view, tmp_path / "out", ctx)
    assert not ctx.losses
    written = json.loads((tmp_path / "out" / "line1" / "a.json").read_text())
    circle, mask = written["shapes"]
    assert (circle["shape_type"], circle["points"]) == ("circle", [[4.0, 3.0], [6.0, 3.0]])
    assert mask["shape_type"] == "mask" and mask["points"] == [[5.0, 2.0], [6.0, 3.0]]  # inclusive box
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(mask["mask"]))))
    np.testing.assert_array_equal(decoded > 0, region > 0)


def test_edited_circle_polygon_is_written_as_a_polygon(tmp_path: Path) -> None:
    attributes = {"labelme_shape": "circle", "circle_cx": 4.0, "circle_cy": 3.0, "circle_radius": 2.0}
    ctx = WriteContext()
    LABELME.write(
        _view(tmp_path, [Annotation("scratch", Polygon([(1, 1), (4, 1), (4, 4)]), attributes)]), tmp_path / "out", ctx
    )
    written = json.loads((tmp_path / "out" / "line1" / "a.json").read_text())
    assert written["shapes"][0]["shape_type"] == "polygon"
    assert ctx.losses == {"non-boolean attribute -> dropped (LabelMe shapes hold flags, group_id and description)": 4}


# ---- bad input -----------------------------------------------------------------------------


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    image(tmp_path / "b.png")
    write_json(tmp_path / "a.json", [shape("point", [[1, 1]])], "a.png")
    (tmp_path / "b.json").write_text('{\n  "shapes": [\n    {"label": "x",}\n  ]\n}')
    (tmp_path / "meta.json").write_text('{"images": [{"file": "a.png"}]}')  # not LabelMe: skipped silently
    with pytest.raises(ParseError) as info:
        read(tmp_path)
    assert "b.json" in str(info.value) and info.value.element == "line 3"
    _, items, ctx = read(tmp_path, skip_bad=True)
    assert [(item.path, len(item.annotations)) for item in items] == [("a.png", 1), ("b.png", 0)]
    assert len(ctx.problems) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (shape("polygon", [[1, 1], [float("nan"), 2], [3, 3]]), "NaN"),
        (shape("polygon", [[1, 1], [2, 2]]), "at least 3"),
        (shape("ellipse", [[1, 1], [2, 2]]), "unknown shape_type 'ellipse'"),
        (shape("circle", [[1, 1]]), "circle needs"),
        (
            shape("mask", [[7, 5], [8, 6]], mask=base64.b64encode(png_bytes(np.ones((2, 2), np.uint8))).decode()),
            "not inside",
        ),
        (shape("mask", [[0, 0], [1, 1]], mask="not base64!"), "base64-encoded PNG"),
        (shape("point", [[1, 1]], label=""), "no label"),
    ],
)
def test_bad_shapes_are_annotation_errors(tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    image(tmp_path / "a.png")
    write_json(tmp_path / "a.json", [shape("point", [[1, 1]]), bad])
    with pytest.raises(AnnotationError, match=message) as info:
        read(tmp_path)
    assert info.value.path.endswith("a.json") and info.value.element == "shapes[1]"
    _, items, ctx = read(tmp_path, skip_bad=True)
    assert [a.kind for a in items[0].annotations] == ["points"] and len(ctx.problems) == 1


# ---- export --------------------------------------------------------------------------------


def _view(tmp_path: Path, annotations: list[Annotation]) -> MemoryView:
    source = image(tmp_path / "src" / "a.png")
    book = LabelBook()
    for annotation in annotations:
        book.add(annotation.label)
    sample = Sample(id=1, path="line1/a.png", blob="0" * 64, width=8, height=6, mode="RGB", format="PNG")
    return MemoryView(labelbook=book, items=[(sample, annotations, source)])


def test_export_losses_and_embedding(tmp_path: Path) -> None:
    annotations = [
        Annotation("scratch", RotatedBox(4, 3, 4, 2, 90), {"group_id": 2, "occluded": True, "depth": 2.5}),
        Annotation("ok", Tag(), {"by": "inspector"}),
    ]
    ctx = WriteContext(options={"labelme_embed": True})
    LABELME.write(_view(tmp_path, annotations), tmp_path / "out", ctx)
    assert ctx.losses == {
        "rotated_box -> polygon (LabelMe has no rotated boxes)": 1,
        "non-boolean attribute -> dropped (LabelMe shapes hold flags, group_id and description)": 1,
        "tag attributes -> dropped (LabelMe image flags are plain booleans)": 1,
    }
    written = json.loads((tmp_path / "out" / "line1" / "a.json").read_text())
    assert written["imagePath"] == "a.png" and written["flags"] == {"ok": True}
    assert base64.b64decode(written["imageData"]) == (tmp_path / "src" / "a.png").read_bytes()
    polygon = written["shapes"][0]
    assert (polygon["shape_type"], polygon["group_id"], polygon["flags"]) == ("polygon", 2, {"occluded": True})
    np.testing.assert_allclose(polygon["points"], [[5, 1], [5, 5], [3, 5], [3, 1]], atol=1e-9)
    _, items, _ = read(tmp_path / "out")
    assert [a.kind for a in items[0].annotations] == ["polygon", "tag"]


def test_broken_labelme_structure_is_reported_not_skipped(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    write_json(tmp_path / "a.json", {"0": "not a list"})  # type: ignore[arg-type]
    with pytest.raises(AnnotationError, match="shapes must be a list") as info:
        read(tmp_path)
    assert info.value.path.endswith("a.json") and info.value.element == "shapes"
