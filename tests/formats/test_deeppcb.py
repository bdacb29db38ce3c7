"""DeepPCB adapter (read-only): the real dataset's counts, pairs and splits, detection, bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import AnnotationError, ParseError, UnsafePathError
from keepsight.formats.base import ImportItem, ReadContext
from keepsight.formats.registry import get_format
from keepsight.model import Box
from tests.formats.conformance import FormatConformance

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DEEPPCB = DATA / "deeppcb"
FMT = get_format("deeppcb")


class TestDeepPcbConformance(FormatConformance):
    format_name = "deeppcb"
    test_round_trip = None  # read-only format: nothing to round-trip


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


@pytest.fixture(scope="module")
def real_items() -> list[ImportItem]:
    if not DEEPPCB.exists():
        pytest.skip(f"../shared/data is absent: {DEEPPCB} not found")
    return _read(DEEPPCB)


def test_real_counts(real_items: list[ImportItem]) -> None:
    roles = Counter(item.metadata["role"] for item in real_items)
    assert roles == {"test": 1500, "template": 75}
    boxes = [a for item in real_items for a in item.annotations]
    assert all(isinstance(a.geometry, Box) for a in boxes)
    assert Counter(a.label for a in boxes) == {
        "open": 1942,
        "short": 1506,
        "mousebite": 1965,
        "spur": 1625,
        "copper": 1474,
        "pin-hole": 1501,
    }
    tested = [item for item in real_items if item.metadata["role"] == "test"]
    assert Counter(item.split for item in tested) == {"train": 1000, "test": 500}
    assert all(item.verdict == "NG" and 1 <= len(item.annotations) <= 15 for item in tested)
    assert all(isinstance(item.source, Path) and item.source.is_file() for item in real_items)


def test_real_pairs(real_items: list[ImportItem]) -> None:
    by_path = {item.path: item for item in real_items}
    test = by_path["group90100/90100/90100000_test.jpg"]
    template = by_path["group90100/90100/90100000_temp.jpg"]
    assert test.metadata == {"role": "test", "group": "group90100", "board": "90100", "pair": "90100000"}
    assert template.metadata == test.metadata | {"role": "template"}
    assert (template.verdict, template.annotations, template.split) == ("OK", [], test.split)
    assert test.origin == "group90100/90100_not/90100000.txt"
    # group90100 keeps one orphan template (no tested image, in no split list).
    orphan = by_path["group90100/90100/90100034_temp.jpg"]
    assert "group90100/90100/90100034_test.jpg" not in by_path and orphan.split is None
    first = by_path["group00041/00041/00041000_test.jpg"]  # its file starts "466 441 493 470 3"
    assert (first.annotations[0].label, first.annotations[0].geometry) == ("mousebite", Box(466, 441, 493, 470))


def test_detect_real() -> None:
    if not DEEPPCB.exists():
        pytest.skip(f"../shared/data is absent: {DEEPPCB} not found")
    for path in (DEEPPCB, DEEPPCB / "PCBData", DEEPPCB / "PCBData" / "trainval.txt"):
        detection = FMT.detect(path)
        assert detection.confidence >= 0.9 and (detection.root or path) == DEEPPCB / "PCBData"
    assert FMT.detect(DATA / "magnetic-tile").confidence == 0


# --- synthetic trees and bad input ------------------------------------------------------------


def _tree(root: Path, boxes: dict[str, str], lists: dict[str, str] | None = None) -> Path:
    """A tiny PCBData: board 00001 of group00001, one tested image per entry of ``boxes``."""
    for pair, text in boxes.items():
        image = root / "group00001" / "00001" / f"{pair}_test.jpg"
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(image)
        labels = root / "group00001" / "00001_not" / f"{pair}.txt"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text(text)
    for name, text in (lists or {}).items():
        (root / name).write_text(text)
    return root


def test_split_lists_and_missing_images(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"00001000": "1 1 5 5 1\n", "00001001": ""},
        {
            "trainval.txt": "group00001/00001/00001000.jpg group00001/00001_not/00001000.txt\n",
            "test.txt": "group00001/00001/00001002.jpg group00001/00001_not/00001002.txt\n\n",
        },
    )
    items = {item.path: item for item in _read(root)}
    assert {p: (i.split, i.verdict) for p, i in items.items()} == {
        "group00001/00001/00001000_test.jpg": ("train", "NG"),
        "group00001/00001/00001001_test.jpg": (None, "OK"),  # an empty box file: inspected, no defect
        "group00001/00001/00001002_test.jpg": ("test", None),  # listed but absent: the importer reports it
    }
    assert not items["group00001/00001/00001002_test.jpg"].source.exists()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "error", "words"),
    [
        ("1 1 5 5", ParseError, "expected 'x1 y1 x2 y2 type'"),
        ("1 1 five 5 2", ParseError, "four numbers"),
        ("1 1 5 5 7", AnnotationError, "class id 7"),
        ("5 1 1 5 2", AnnotationError, "x2 < x1"),
        ("nan 1 5 5 2", AnnotationError, "NaN"),
    ],
)
def test_bad_box_line(tmp_path: Path, line: str, error: type, words: str) -> None:
    root = _tree(tmp_path, {"00001000": f"1 1 5 5 1\n{line}\n2,2,6,6,6\n", "00001001": "3 3 8 8 4\n"})
    with pytest.raises(error) as info:
        _read(root)
    assert words in str(info.value)
    assert (info.value.path, info.value.element) == (str(root / "group00001" / "00001_not" / "00001000.txt"), "line 2")
    ctx = ReadContext(skip_bad=True)
    items = _read(root, ctx)
    assert [[a.label for a in i.annotations] for i in items] == [["open", "pin-hole"], ["spur"]]
    assert len(ctx.problems) == 1 and isinstance(ctx.problems[0], error)


@pytest.mark.parametrize(
    ("line", "error", "words"),
    [
        ("../../etc/passwd.jpg x.txt", UnsafePathError, "escapes the dataset root"),
        ("group00001/00001000.jpg x.txt", ParseError, "expected 'groupXXXXX/XXXXX/NNNNNNNN.jpg"),
        ("group00001/00001/00001000.jpg x.txt", AnnotationError, "also listed in the train list"),
    ],
)
def test_bad_split_list(tmp_path: Path, line: str, error: type, words: str) -> None:
    root = _tree(
        tmp_path,
        {"00001000": "1 1 5 5 1\n"},
        {"trainval.txt": "group00001/00001/00001000.jpg group00001/00001_not/00001000.txt\n", "test.txt": f"{line}\n"},
    )
    with pytest.raises(error) as info:
        _read(root)
    assert words in str(info.value) and (info.value.path, info.value.element) == (str(root / "test.txt"), "line 1")
    ctx = ReadContext(skip_bad=True)
    (item,) = _read(root, ctx)
    assert item.split == "train" and len(ctx.problems) == 1
