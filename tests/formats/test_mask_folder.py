"""mask_folder adapter: conformance, Magnetic-tile and Datumaro samples, mask rules, bad input, export losses."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, DatasetError, ImageError, ParseError
from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Mask, Polyline, Sample, Tag
from keepsight.model.convert import array_to_mask
from tests.formats.conformance import FormatConformance, assert_same_annotations

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
MAGNETIC_TILE = DATA / "magnetic-tile"
KAGGLE = DATA / "datumaro-test-assets" / "tests" / "assets" / "kaggle_dataset"
FMT = get_format("mask_folder")


class TestMaskFolderConformance(FormatConformance):
    format_name = "mask_folder"
    kinds = ["mask", "tag"]


def _data(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"../shared/data is absent: {path} not found")
    return path


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


def _save(path: Path, array: np.ndarray, palette: list[int] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(array)
    if palette is not None:
        img.putpalette(palette)
    img.save(path)
    return path


def _image(path: Path, size: tuple[int, int] = (8, 6)) -> Path:
    return _save(path, np.full((size[1], size[0], 3), 90, dtype=np.uint8))


def _soft_mask() -> np.ndarray:
    """An 8x6 mask: 4 pixels at 255, 3 anti-aliased pixels at 200, 128, 127 and one at 1."""
    mask = np.zeros((6, 8), dtype=np.uint8)
    mask[1, 1:5] = 255
    mask[2, 1:4] = (200, 128, 127)
    mask[4, 6] = 1
    return mask


# --- real samples -----------------------------------------------------------------------------


def test_magnetic_tile() -> None:
    root = _data(MAGNETIC_TILE)
    assert FMT.detect(root).confidence >= 0.5
    reading = FMT.read(root, ReadContext())
    items = list(reading.items)
    assert len(items) == reading.total == 1344
    assert all(item.path.endswith(".jpg") for item in items), "mask PNGs must not be imported as images"
    tags = Counter(a.label for item in items for a in item.annotations if a.kind == "tag")
    masks = Counter(a.label for item in items for a in item.annotations if a.kind == "mask")
    # Counted by hand: every defect mask has pixels >= 128 except 4 empty MT_Uneven masks; no MT_Free mask has any.
    assert tags == {"Blowhole": 115, "Break": 85, "Crack": 57, "Fray": 32, "Uneven": 103, "Free": 952}
    assert masks == {"Blowhole": 115, "Break": 85, "Crack": 57, "Fray": 32, "Uneven": 99}
    free = [item for item in items if item.path.startswith("MT_Free/")]
    assert len(free) == 952
    assert all(item.verdict == "OK" and [a.kind for a in item.annotations] == ["tag"] for item in free)
    assert Counter(item.verdict for item in items) == {"OK": 952, "NG": 392}
    assert sorted(reading.labelbook.names()) == ["Blowhole", "Break", "Crack", "Fray", "Free", "Uneven"]


def test_magnetic_tile_is_a_mask_folder_before_an_image_folder() -> None:
    root = _data(MAGNETIC_TILE)
    assert FMT.detect(root).confidence > get_format("image_folder").detect(root).confidence > 0


def test_magnetic_tile_soft_mask_threshold(tmp_path: Path) -> None:
    source = _data(MAGNETIC_TILE) / "MT_Crack" / "Imgs"
    folder = tmp_path / "MT_Crack" / "Imgs"
    folder.mkdir(parents=True)
    for name in ("exp1_num_249594.jpg", "exp1_num_249594.png"):
        shutil.copyfile(source / name, folder / name)
    pixels = np.asarray(Image.open(folder / "exp1_num_249594.png"))
    assert ((pixels > 0) & (pixels < 255)).any(), "this mask has soft edges"
    for threshold in (128, 1):
        (item,) = _read(tmp_path, ReadContext(options={"mask_threshold": threshold}))
        (mask,) = [a.geometry for a in item.annotations if a.kind == "mask"]
        assert mask.area() == int((pixels >= threshold).sum())
        assert item.expected_size == (pixels.shape[1], pixels.shape[0])
        assert item.origin == "MT_Crack/Imgs/exp1_num_249594.png"


def test_datumaro_indexed_masks_with_labelmap_csv() -> None:
    root = _data(KAGGLE / "image_mask_with_labelmap")
    items = {item.path: item for item in _read(root)}
    assert sorted(items) == ["images/001.png", "images/002.png", "images/003.png"]
    # masks (5x1, 16-bit): 001 = [1, 2, 0, 2, 1], 002 = [0, 0, 2, 0, 1], 003 = [2, 1, 0, 0, 0]; labelmap: cat=1, dog=2
    areas = {path: {a.label: a.geometry.area() for a in item.annotations} for path, item in items.items()}
    assert areas == {
        "images/001.png": {"cat": 2, "dog": 2},
        "images/002.png": {"cat": 1, "dog": 1},
        "images/003.png": {"cat": 1, "dog": 1},
    }
    pixels = {a.label: a.geometry.decode()[0].tolist() for a in items["images/001.png"].annotations}
    assert pixels == {"cat": [True, False, False, False, True], "dog": [False, True, False, True, False]}


# --- reading rules ----------------------------------------------------------------------------


def test_side_by_side_soft_mask_and_class_folder(tmp_path: Path) -> None:
    _image(tmp_path / "MT_Scratch" / "Imgs" / "a.jpg")
    _save(tmp_path / "MT_Scratch" / "Imgs" / "a.png", _soft_mask())
    _image(tmp_path / "MT_Free" / "Imgs" / "b.jpg")
    _save(tmp_path / "MT_Free" / "Imgs" / "b.png", np.zeros((6, 8), dtype=np.uint8))
    items = {item.path: item for item in _read(tmp_path)}
    assert sorted(items) == ["MT_Free/Imgs/b.jpg", "MT_Scratch/Imgs/a.jpg"]
    a, b = items["MT_Scratch/Imgs/a.jpg"], items["MT_Free/Imgs/b.jpg"]
    assert [(x.kind, x.label) for x in a.annotations] == [("tag", "Scratch"), ("mask", "Scratch")]
    assert a.annotations[1].geometry.area() == 6  # 4 x 255, 200 and 128; not 127 nor 1
    assert a.verdict == "NG"
    # A verdict-named class folder stays a class; an all-background mask gives no mask annotation.
    assert (b.verdict, [(x.kind, x.label) for x in b.annotations]) == ("OK", [("tag", "Free")])


def test_parallel_folders_binary_01_masks_and_options(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "train" / "a.png")
    _image(tmp_path / "images" / "train" / "b.png")
    _image(tmp_path / "images" / "train" / "c.png")
    mask = np.zeros((6, 8), dtype=np.uint8)
    mask[0, :3] = 1  # a 0/1 mask: 1 is foreground whatever the threshold
    _save(tmp_path / "masks" / "train" / "a.png", mask)
    _save(tmp_path / "masks" / "train" / "b_mask.png", mask * 255)
    items = {item.path: item for item in _read(tmp_path, ReadContext(options={"mask_class": "dent"}))}
    assert sorted(items) == ["images/train/a.png", "images/train/b.png", "images/train/c.png"]
    for name in ("a", "b"):
        item = items[f"images/train/{name}.png"]
        assert (item.split, item.verdict) == ("train", "NG")
        assert [(x.label, x.geometry.area()) for x in item.annotations] == [("dent", 3)]
    assert (items["images/train/c.png"].annotations, items["images/train/c.png"].verdict) == ([], None)
    default = {item.path: item for item in _read(tmp_path)}
    assert default["images/train/a.png"].annotations[0].label == "defect"


def test_indexed_palette_mask_with_classes_txt(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    index = np.zeros((6, 8), dtype=np.uint8)
    index[0, :2], index[1, :3], index[5, 7] = 1, 2, 255  # 255 = VOC outline, ignored
    _save(tmp_path / "masks" / "a.png", index, palette=[0, 0, 0, 255, 0, 0, 0, 255, 0] + [255] * 759)
    (tmp_path / "masks" / "classes.txt").write_text("_background_\nscratch\nchip\n")
    reading = FMT.read(tmp_path, ReadContext())
    assert reading.labelbook.names() == ["scratch", "chip"]
    (item,) = reading.items
    assert {a.label: a.geometry.area() for a in item.annotations} == {"scratch": 2, "chip": 3}
    # classes.txt without a background line: the first name is value 1; the class_map option wins over files.
    (tmp_path / "masks" / "classes.txt").write_text("scratch\nchip\n")
    assert {a.label for a in _read(tmp_path)[0].annotations} == {"scratch", "chip"}
    options = {"class_map": {"1": "a", "2": "b"}}
    assert {a.label for a in _read(tmp_path, ReadContext(options=options))[0].annotations} == {"a", "b"}


def test_colour_mask_with_labelmap_txt(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "a.png")
    rgb = np.zeros((6, 8, 3), dtype=np.uint8)
    rgb[0, :4] = (128, 0, 0)
    _save(tmp_path / "masks" / "a.png", rgb)
    (tmp_path / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\ncrack:128,0,0::\n")
    (item,) = _read(tmp_path)
    assert [(a.label, a.geometry.area()) for a in item.annotations] == [("crack", 4)]


def test_options(tmp_path: Path) -> None:
    _image(tmp_path / "dent" / "a.jpg")
    _save(tmp_path / "dent" / "a.png", _soft_mask())
    (item,) = _read(tmp_path, ReadContext(options={"class_from_folder": False}))
    assert (item.verdict, [(a.kind, a.label) for a in item.annotations]) == ("NG", [("mask", "defect")])
    for bad in (0, 300, "high"):
        with pytest.raises(DatasetError, match="mask_threshold"):
            FMT.read(tmp_path, ReadContext(options={"mask_threshold": bad}))
    with pytest.raises(DatasetError, match="class_map"):
        FMT.read(tmp_path, ReadContext(options={"class_map": {"one": "dent"}}))


def test_detect_rejects_images_without_masks(tmp_path: Path) -> None:
    for i in range(4):
        _image(tmp_path / "scratch" / f"{i}.jpg")
    _save(tmp_path / "scratch" / "0.png", np.zeros((6, 8), dtype=np.uint8))
    detection = FMT.detect(tmp_path)
    assert detection.confidence == 0 and "1 of 4" in detection.reasons[0]
    assert FMT.detect(tmp_path / "scratch" / "0.jpg").confidence == 0


# --- bad input --------------------------------------------------------------------------------


def _two_images(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _image(tmp_path / "images" / f"{name}.jpg")
    good = np.zeros((6, 8), dtype=np.uint8)
    good[0, 0] = 255
    _save(tmp_path / "masks" / "b.png", good)


@pytest.mark.parametrize(
    ("write_bad", "error", "words"),
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n truncated"), ImageError, "cannot read mask"),
        (lambda p: _save(p, np.array([[0, 1, 2]], dtype=np.uint8), palette=[0] * 768), AnnotationError, "no class map"),
        (
            lambda p: _save(p, np.dstack([np.array([[0, 9, 0]], dtype=np.uint8)] * 2 + [np.zeros((1, 3), np.uint8)])),
            AnnotationError,
            "colour mask",
        ),
    ],
    ids=["truncated", "palette-without-map", "colour-without-map"],
)
def test_bad_mask(tmp_path: Path, write_bad, error: type, words: str) -> None:  # type: ignore[no-untyped-def]
    _two_images(tmp_path)
    bad = tmp_path / "masks" / "a.png"
    write_bad(bad)
    with pytest.raises(error) as info:
        _read(tmp_path)
    assert words in str(info.value) and str(bad) in str(info.value)
    ctx = ReadContext(skip_bad=True)
    items = _read(tmp_path, ctx)
    assert [item.path for item in items] == ["images/b.jpg"] and len(items[0].annotations) == 1
    assert len(ctx.problems) == 1 and isinstance(ctx.problems[0], error)


def test_value_missing_from_class_map(tmp_path: Path) -> None:
    _two_images(tmp_path)
    _save(tmp_path / "masks" / "a.png", np.array([[0, 1, 7]], dtype=np.uint8))
    _save(tmp_path / "masks" / "b.png", np.array([[0, 1, 1]], dtype=np.uint8))
    (tmp_path / "masks" / "classes.txt").write_text("background\nscratch\n")
    with pytest.raises(AnnotationError, match=r"mask values \[7\] are not in the class map \(classes.txt") as info:
        _read(tmp_path)
    assert info.value.path == str(tmp_path / "masks" / "a.png")
    ctx = ReadContext(skip_bad=True)
    assert [item.path for item in _read(tmp_path, ctx)] == ["images/b.jpg"] and len(ctx.problems) == 1


def test_broken_labelmap_csv(tmp_path: Path) -> None:
    _two_images(tmp_path)
    _save(tmp_path / "masks" / "a.png", np.array([[0, 1, 0]], dtype=np.uint8))
    (tmp_path / "labelmap.csv").write_text("name,r,g,b\nbackground,0,0,0\ncat,red,0,0\n")
    with pytest.raises(ParseError) as info:
        FMT.read(tmp_path, ReadContext())
    assert info.value.path == str(tmp_path / "labelmap.csv") and info.value.element == "line 3"
    ctx = ReadContext(skip_bad=True)
    assert _read(tmp_path, ctx) == [] and len(ctx.problems) == 1  # both masks depend on the broken map


# --- writing ----------------------------------------------------------------------------------


def _view(tmp_path: Path, annotations: list[Annotation], verdict: str | None = None) -> MemoryView:
    image = _image(tmp_path / "src" / "a.png", size=(20, 10))
    book = LabelBook()
    for ann in annotations:
        book.add(ann.label, kind=ann.kind)
    sample = Sample(id=1, path="a.png", blob="0" * 64, width=20, height=10, mode="RGB", format="PNG", verdict=verdict)  # type: ignore[arg-type]
    return MemoryView(labelbook=book, items=[(sample, annotations, image)])


def _area(x1: int, y1: int, x2: int, y2: int) -> Mask:
    array = np.zeros((10, 20), dtype=bool)
    array[y1:y2, x1:x2] = True
    return array_to_mask(array)


def test_write_layout_and_round_trip(tmp_path: Path) -> None:
    annotations = [
        Annotation("scratch", Tag()),
        Annotation("scratch", _area(0, 0, 5, 5)),
        Annotation("chip", _area(10, 2, 14, 8)),
    ]
    ctx = WriteContext()
    FMT.write(_view(tmp_path, annotations), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert not ctx.losses
    assert (tmp_path / "out" / "classes.txt").read_text().splitlines() == ["_background_", "scratch", "chip"]
    mask = Image.open(tmp_path / "out" / "masks" / "scratch" / "a.png")
    assert mask.mode == "P" and sorted(np.unique(np.asarray(mask)).tolist()) == [0, 1, 2]
    (item,) = _read(tmp_path / "out")
    assert (item.path, item.verdict) == ("images/scratch/a.png", "NG")
    assert_same_annotations(annotations, item.annotations)


def test_write_records_losses(tmp_path: Path) -> None:
    annotations = [
        Annotation("scratch", Tag()),
        Annotation("scratch", Box(0, 0, 4, 4)),
        Annotation("scratch", _area(2, 2, 6, 6), attributes={"depth": 2}),
        Annotation("chip", _area(3, 3, 8, 8)),
        Annotation("chip", Polyline([(0, 0), (5, 5)])),
    ]
    ctx = WriteContext()
    FMT.write(_view(tmp_path, annotations, verdict="OK"), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert ctx.losses == {
        "box -> mask (rasterised)": 1,
        "annotation attributes -> dropped (masks hold no attributes)": 1,
        "several areas of one class in an image -> merged into one mask (one value per class)": 1,
        "overlapping areas of different classes -> later class wins (one class per pixel)": 1,
        "polyline -> dropped (a mask folder holds only areas with pixels)": 1,
        "verdict OK of a tagged image -> NG (a class folder that is not a verdict word reads as NG)": 1,
    }
