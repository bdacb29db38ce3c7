"""image_folder adapter: conformance, Ultralytics' imagenet10, folder rules, export losses."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Sample, Tag
from tests.formats.conformance import FormatConformance

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
IMAGENET10 = DATA / "ultralytics-hub-examples" / "example_datasets" / "imagenet10"
FMT = get_format("image_folder")


class TestImageFolderConformance(FormatConformance):
    format_name = "image_folder"
    kinds = ["tag"]


def _read(path: Path) -> list[ImportItem]:
    return list(FMT.read(path, ReadContext()).items)


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(path)
    return path


def test_imagenet10() -> None:
    if not IMAGENET10.exists():
        pytest.skip(f"../shared/data is absent: {IMAGENET10} not found")
    assert FMT.detect(IMAGENET10).confidence > 0
    items = _read(IMAGENET10)
    assert len(items) == 20 and Counter(i.split for i in items) == {"train": 10, "val": 10}
    tags = Counter(a.label for i in items for a in i.annotations if a.kind == "tag")
    assert len(tags) == 10 and set(tags.values()) == {2} and tags["great_white_shark"] == 2
    goldfish = next(i for i in items if i.path == "train/goldfish/n01443537_22323.JPEG")
    assert [a.label for a in goldfish.annotations] == ["goldfish"] and goldfish.verdict is None


def test_verdict_and_class_folders(tmp_path: Path) -> None:
    _image(tmp_path / "good" / "a.png")
    _image(tmp_path / "test" / "NG" / "b.png")
    _image(tmp_path / "test" / "scratch" / "c.png")
    _image(tmp_path / "train" / "d.png")
    _image(tmp_path / ".cache" / "e.png")
    items = {i.path: i for i in _read(tmp_path)}
    assert {p: (i.split, i.verdict, [a.label for a in i.annotations]) for p, i in items.items()} == {
        "good/a.png": (None, "OK", []),
        "test/NG/b.png": ("test", "NG", []),
        "test/scratch/c.png": ("test", None, ["scratch"]),
        "train/d.png": ("train", None, []),
    }


def test_detect_rejects(tmp_path: Path) -> None:
    _image(tmp_path / "a.png")
    assert FMT.detect(tmp_path).confidence == 0  # images but no sub-folder
    (tmp_path / "empty").mkdir()
    (tmp_path / ".hidden").mkdir()
    _image(tmp_path / ".hidden" / "b.png")
    detection = FMT.detect(tmp_path)
    assert detection.confidence == 0 and detection.reasons == ["no sub-folder holds images"]
    assert FMT.detect(tmp_path / "a.png").confidence == 0


def test_write_layout_and_losses(tmp_path: Path) -> None:
    image = _image(tmp_path / "src.png")

    def sample(i: int, split: str, verdict: str | None) -> Sample:
        return Sample(
            id=i,
            path=f"sub/img{i}.png",
            blob="0" * 64,
            width=4,
            height=4,
            mode="RGB",
            format="PNG",
            split=split,
            verdict=verdict,
        )  # type: ignore[arg-type]

    items = [
        (
            sample(1, "train", "NG"),
            [Annotation("scratch", Tag()), Annotation("dent", Tag()), Annotation("scratch", Box(0, 0, 2, 2))],
        ),
        (sample(2, "unassigned", "OK"), []),
        (sample(3, "val", None), []),
        (sample(4, "unassigned", None), [Annotation("good", Tag()), Annotation("chip", Box(0, 0, 1, 1))]),
    ]
    ctx = WriteContext()
    FMT.write(MemoryView(LabelBook(), [(s, a, image) for s, a in items]), tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert ctx.losses == {
        "box -> dropped (image folders hold only classes)": 2,
        "tags after the first -> dropped (an image sits in one class folder)": 1,
        "verdict of a tagged image -> dropped (its folder holds the class)": 1,
        "tag 'good' -> not written (as a folder name it would read back as something else)": 1,
    }
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["OK/img2.png", "img4.png", "train/scratch/img1.png", "val/img3.png"]
    read_back = {i.path: i for i in _read(tmp_path / "out")}
    assert read_back["OK/img2.png"].verdict == "OK" and read_back["val/img3.png"].annotations == []
