"""Label Studio adapter: conformance, label-studio-converter's real exports, brush RLE, bad input, losses."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.labelstudio.brush import decode_brush, encode_brush
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Polygon, Polyline, RotatedBox, Sample, Tag
from tests.formats.conformance import FormatConformance

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
LS = DATA / "label-studio-converter-tests" / "tests"
FMT = get_format("labelstudio")


class TestLabelStudioConformance(FormatConformance):
    format_name = "labelstudio"
    kinds = ["box", "rotated_box", "polygon", "mask", "tag", "points"]


def _sample(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/data is absent: {path} not found")
    return path


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


def _copy(tmp_path: Path, export: str, config: str | None = None) -> Path:
    """An export alone in a folder (the samples share folders with configs of other exports)."""
    shutil.copyfile(_sample(LS / "data" / export), tmp_path / "export.json")
    if config is not None:
        shutil.copyfile(LS / "data" / config, tmp_path / "label_config.xml")
    return tmp_path


def _results(export: str, task: int) -> list[dict]:
    return json.loads((LS / "data" / export).read_text())[task]["annotations"][0]["result"]


# --- real exports -----------------------------------------------------------------------------


def test_rectangles_with_their_label_config() -> None:
    export = _sample(LS / "data" / "test_export_yolo" / "data.json")
    reading = FMT.read(export, ReadContext())
    assert reading.classes_declared and reading.labelbook.names() == ["parasites", "white"]
    assert reading.labelbook.classes["parasites"].kinds == ["box", "rotated_box"]
    items = list(reading.items)
    assert [i.path for i in items] == ["image1", "image2"]  # "/image1": no such file is shipped
    assert all(isinstance(i.source, Path) and not i.source.exists() for i in items)
    assert [i.expected_size for i in items] == [(2800, 2800), (2800, 2800)]
    # Task 1 has two annotators: the first annotation is read, the other is named.
    assert items[0].metadata == {"labelstudio_annotation": 1, "labelstudio_ignored_annotations": [2]}
    assert Counter(a.label for i in items for a in i.annotations) == {"white": 3, "parasites": 1}
    value = _results("test_export_yolo/data.json", 0)[0]["value"]
    x, y, w, h = (value[k] * 28 for k in ("x", "y", "width", "height"))  # percent of 2800 px
    assert items[0].annotations[0].geometry == Box(x, y, x + w, y + h)


def test_rotated_rectangles(tmp_path: Path) -> None:
    items = _read(_copy(tmp_path, "test_export_yolo/data_obb.json"))
    assert [len(i.annotations) for i in items] == [23, 1, 1]
    assert {a.kind for i in items for a in i.annotations} == {"rotated_box"}
    assert Counter(a.label for i in items for a in i.annotations) == {"Butterfly": 24, "butterfly": 1}
    # Task 10960 (433 x 768): Label Studio turns the box clockwise about its top-left corner.
    value = _results("test_export_yolo/data_obb.json", 1)[0]["value"]
    theta = math.radians(value["rotation"])
    top_left = np.array([value["x"] * 4.33, value["y"] * 7.68])
    along_w = value["width"] * 4.33 * np.array([math.cos(theta), math.sin(theta)])
    along_h = value["height"] * 7.68 * np.array([-math.sin(theta), math.cos(theta)])
    expected = [top_left, top_left + along_w, top_left + along_w + along_h, top_left + along_h]
    box = items[1].annotations[0].geometry
    assert np.allclose(box.corners(), expected)
    assert box.angle == pytest.approx(345.1381651311527)


def test_undeclared_class_against_the_real_config(tmp_path: Path) -> None:
    # label_config_obb.xml declares "butterfly"; 24 regions say "Butterfly".
    root = _copy(tmp_path, "test_export_yolo/data_obb.json", "test_export_yolo/label_config_obb.xml")
    with pytest.raises(AnnotationError) as info:
        _read(root)
    assert info.value.path == str(root / "export.json")
    assert info.value.element == "task id 10959, result veUGPaahTw" and "'Butterfly'" in info.value.reason
    ctx = ReadContext(skip_bad=True)
    items = _read(root, ctx)
    assert len(ctx.problems) == 24 and all(isinstance(e, AnnotationError) for e in ctx.problems)
    assert [a.label for i in items for a in i.annotations] == ["butterfly"]


def test_polygons(tmp_path: Path) -> None:
    root = _copy(tmp_path, "test_export_yolo/data_polygons.json", "test_export_yolo/label_config_polygons.xml")
    (item,) = _read(root)
    (polygon,) = item.annotations
    points = _results("test_export_yolo/data_polygons.json", 0)[0]["value"]["points"]
    assert polygon.label == "Airplane" and len(polygon.geometry.points) == len(points) == 37
    assert polygon.geometry.points[0] == pytest.approx((points[0][0] * 6.4, points[0][1] * 4.26))


def test_upload_url_resolves_by_file_name(tmp_path: Path) -> None:
    root = _sample(LS / "data" / "test_export_json_min")
    (item,) = _read(root)
    assert item.path == "example.png" and not item.source.exists()  # type: ignore[union-attr]
    assert [a.kind for a in item.annotations] == ["polygon"]
    # Once the image is there (even under images/ and without Label Studio's upload prefix), it is found.
    tasks = json.loads((root / "data.json").read_text())
    tasks[0]["data"]["image"] = "/data/upload/29/0a1b2c3d-example.png"
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    (tmp_path / "images").mkdir()
    Image.new("RGB", (128, 128)).save(tmp_path / "images" / "example.png")
    (item,) = _read(tmp_path)
    assert item.path == "images/example.png" and item.source == tmp_path / "images" / "example.png"


def test_mixed_folder_reads_only_image_exports() -> None:
    root = _sample(LS / "data" / "test_export_csv")
    detection = FMT.detect(root)
    assert detection.confidence >= 0.8 and detection.reasons == ["csv_test.json: Label Studio tasks with data.image"]
    reading = FMT.read(root, ReadContext())
    assert not reading.classes_declared
    items = list(reading.items)
    assert [i.path for i in items] == ["0030019819f25b28.jpg", "00155094b7acc33b.jpg"]  # from the URLs
    assert Counter(a.kind for i in items for a in i.annotations) == {"box": 3}
    text_only = FMT.detect(root / "csv_test2.json")
    assert text_only.confidence == 0 and "no data.image" in text_only.reasons[0]


def test_repeater_and_folders_without_exports_are_rejected() -> None:
    assert FMT.detect(_sample(LS / "data" / "test_export_json_min" / "data_repeater.json")).confidence == 0
    detection = FMT.detect(LS / "data" / "test_import_yolo_data")
    assert detection.confidence == 0 and detection.reasons


def test_region_text_choices_and_keypoints(tmp_path: Path) -> None:
    rect = {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0}
    results = [
        _result("a", "rectangle", rect),
        _result("a", "labels", {**rect, "labels": ["serial"]}),
        _result("a", "textarea", {"text": ["AB-12", "CD"]}),
        _result("a", "choices", {"choices": ["sharp"]}, from_name="quality"),
        _result("k", "keypointlabels", {"x": 50, "y": 50, "keypointlabels": ["pin"]}),
        {"type": "choices", "from_name": "class", "to_name": "image", "value": {"choices": ["NG", "scratch"]}},
    ]
    _write_tasks(tmp_path, [_task(1, "a.png", results)])
    (item,) = _read(tmp_path)
    region, point, *tags = item.annotations
    assert region.label == "serial" and region.geometry == Box(20, 10, 80, 30)  # percent of a 200 x 50 image
    assert region.attributes == {"text": "AB-12\nCD", "quality": "sharp"}
    assert point.label == "pin" and point.geometry.points == ((100.0, 25.0),)
    assert [(t.label, t.kind) for t in tags] == [("NG", "tag"), ("scratch", "tag")]


# --- brush RLE ----------------------------------------------------------------------------------


def test_brush_decodes_a_hand_written_stream() -> None:
    # 1 x 2 image = 8 RGBA values; word size 8; field sizes 3, 4, 8, 16.
    bits = f"{8:032b}" + "00111" + "0010" + "0011" + "0111" + "1111"
    bits += "0" + "00" + "011" + "11111111" * 3 + "00000000"  # 4 literal words: white, alpha 0 -> outside
    bits += "1" + "00" + "011" + f"{100:08b}"  # the value 100 repeated 4 times: alpha 100 -> inside
    bits += "0" * (-len(bits) % 8)
    rle = list(int(bits, 2).to_bytes(len(bits) // 8, "big"))
    assert decode_brush(rle, 1, 2).tolist() == [[False, True]]
    with pytest.raises(AnnotationError, match="expected 2x2x4"):
        decode_brush(rle, 2, 2)
    with pytest.raises(AnnotationError, match="truncated"):
        decode_brush(rle[:-2], 1, 2)


def test_brush_round_trips_the_converters_sample_image() -> None:
    with Image.open(_sample(LS / "test.png")) as image:
        mask = np.array(image.convert("L")) > 128
    assert 0 < mask.sum() < mask.size
    rle = encode_brush(mask)
    assert rle[:4] == list((mask.size * 4).to_bytes(4, "big"))  # the value count leads the stream
    assert np.array_equal(decode_brush(rle, *mask.shape), mask)


# --- bad input ----------------------------------------------------------------------------------


def _result(rid: str, kind: str, value: dict, *, from_name: str = "label", size=(200, 50)) -> dict:
    return {
        "id": rid,
        "type": kind,
        "from_name": from_name,
        "to_name": "image",
        "original_width": size[0],
        "original_height": size[1],
        "value": value,
    }


def _task(task_id: int, image: str, results: list[dict]) -> dict:
    return {"id": task_id, "data": {"image": image}, "annotations": [{"id": task_id, "result": results}]}


def _box(rid: str, x: float = 10) -> dict:
    return _result(rid, "rectanglelabels", {"x": x, "y": 10, "width": 5, "height": 5, "rectanglelabels": ["dent"]})


def _write_tasks(root: Path, tasks: list[dict]) -> Path:
    path = root / "export.json"
    path.write_text(json.dumps(tasks))
    return path


@pytest.mark.parametrize(
    ("bad", "error", "element", "words"),
    [
        (_box("r9", x=float("nan")), AnnotationError, "task id 1, result r9", "not a finite number"),
        (
            _result("r9", "ellipselabels", {"x": 1, "y": 1, "radiusX": 2, "radiusY": 2, "ellipselabels": ["dent"]}),
            AnnotationError,
            "task id 1, result r9",
            "ellipselabels regions are not supported",
        ),
        (
            _result("r9", "brushlabels", {"format": "rle", "rle": [0, 0, 0], "brushlabels": ["dent"]}),
            AnnotationError,
            "task id 1, result r9",
            "truncated",
        ),
        (
            _result("r9", "polygonlabels", {"points": [[1, 1], [2, 2]], "polygonlabels": ["dent"]}),
            AnnotationError,
            "task id 1, result r9",
            "at least 3 vertices",
        ),
        (
            _result("r9", "rectangle", {"x": 1, "y": 1, "width": 2, "height": 2}),
            AnnotationError,
            "task id 1, result r9",
            "no label",
        ),
    ],
)
def test_bad_region(tmp_path: Path, bad: dict, error: type, element: str, words: str) -> None:
    path = _write_tasks(tmp_path, [_task(1, "a.png", [_box("r1"), bad]), _task(2, "b.png", [_box("r2")])])
    with pytest.raises(error) as info:
        _read(tmp_path)
    assert info.value.path == str(path) and info.value.element == element and words in info.value.reason
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert [type(e) for e in ctx.problems] == [error]
    assert [len(i.annotations) for i in items] == [1, 1]  # only the bad region is left out


def test_bad_task_image(tmp_path: Path) -> None:
    path = _write_tasks(
        tmp_path,
        [_task(1, "../outside/a.png", [_box("r1")]), {"id": 2, "data": {"text": "x"}}, _task(3, "c.png", [_box("r3")])],
    )
    with pytest.raises(UnsafePathError) as info:
        _read(tmp_path)
    assert info.value.path == str(path) and info.value.element == "task id 1"
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert [type(e) for e in ctx.problems] == [UnsafePathError, AnnotationError]
    assert "data.image" in ctx.problems[1].reason and ctx.problems[1].element == "task id 2"
    assert [i.path for i in items] == ["c.png"]


def test_malformed_export_and_config(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('[{"data": {"image": "a.png"}, "annotations": [')
    _write_tasks(tmp_path, [_task(1, "a.png", [_box("r1")])])
    with pytest.raises(ParseError) as info:
        _read(tmp_path)
    assert info.value.path == str(bad) and "line 1" in info.value.reason
    ctx = ReadContext(skip_bad=True)
    assert [i.path for i in _read(tmp_path, ctx)] == ["a.png"] and isinstance(ctx.problems[0], ParseError)
    bad.unlink()
    (tmp_path / "label_config.xml").write_text("<View><Image name='image'")
    with pytest.raises(ParseError) as info:
        FMT.read(tmp_path, ReadContext())
    assert info.value.path == str(tmp_path / "label_config.xml")
    ctx = ReadContext(skip_bad=True)
    assert len(_read(tmp_path, ctx)) == 1 and len(ctx.problems) == 1


# --- export ------------------------------------------------------------------------------------


def _view(tmp_path: Path, annotations: list[Annotation], **fields: object) -> MemoryView:
    image = tmp_path / "src.png"
    Image.fromarray(np.zeros((50, 200, 3), dtype=np.uint8)).save(image)
    values = dict(id=1, path="lot1/a.png", blob="0" * 64, width=200, height=50, mode="RGB", format="PNG")
    values.update(fields)
    book = LabelBook()
    for ann in annotations:
        book.add(ann.label)
    return MemoryView(labelbook=book, items=[(Sample(**values), annotations, image)])  # type: ignore[arg-type]


def test_export_keeps_text_split_and_verdict(tmp_path: Path) -> None:
    annotations = [
        Annotation("serial", Box(20, 10, 80, 50), {"text": "AB-12"}),
        Annotation("chip", RotatedBox(100, 25, 40, 10, 200)),
        Annotation("NG-lot", Tag()),
    ]
    ctx = WriteContext()
    FMT.write(_view(tmp_path, annotations, split="test", verdict="NG"), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert not ctx.losses
    reading = FMT.read(tmp_path / "out", ReadContext())
    assert reading.classes_declared and sorted(reading.labelbook.names()) == ["NG-lot", "chip", "serial"]
    (item,) = reading.items
    assert (item.path, item.split, item.verdict) == ("images/lot1/a.png", "test", "NG")
    assert item.source.is_file()  # type: ignore[union-attr]
    for want, got in zip(annotations, item.annotations, strict=True):
        assert want.same_content(got, tol=1e-6), (want, got)


def test_export_reports_losses(tmp_path: Path) -> None:
    annotations = [
        Annotation("crack", Polyline([(0, 0), (5, 5)])),
        Annotation("dent", Polygon([(0, 0), (9, 0), (9, 9)]), {"severity": 3}),
    ]
    ctx = WriteContext()
    FMT.write(_view(tmp_path, annotations), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert dict(ctx.losses) == {
        "polyline -> dropped (Label Studio image projects have no open lines)": 1,
        "attributes other than text -> dropped (Label Studio keeps per-region text only)": 1,
    }
    (item,) = _read(tmp_path / "out")
    assert [(a.kind, a.attributes) for a in item.annotations] == [("polygon", {})]
