"""MVTec AD adapter: round trip, Datumaro's sample, layout rules, bad masks, export losses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keepsight.errors import ImageError
from keepsight.formats.base import ImportItem, MemoryView, ReadContext, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model import Annotation, Box, LabelBook, Polyline, Sample, Tag
from keepsight.model.convert import array_to_mask
from tests.formats.conformance import FormatConformance, assert_same_annotations, make_view

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DATUMARO_MVTEC = DATA / "datumaro-test-assets" / "tests" / "assets" / "mvtec_dataset"
FMT = get_format("mvtec")


class TestMvtecConformance(FormatConformance):
    format_name = "mvtec"
    kinds = ["tag", "mask"]

    def test_round_trip(self, tmp_path: Path) -> None:
        """MVTec holds one defect type per image, as a Tag plus a Mask of that class, in test/ (train/ is
        good-only), so the generic view (classes mixed per image, train split) cannot round-trip: build its
        MVTec-shaped twin, plus good images."""
        view = make_view(tmp_path, ["mask"], split_names=("test",))
        view.items = [(sample, [*anns, Annotation(anns[0].label, Tag())], path) for sample, anns, path in view.items]
        good = make_view(tmp_path / "good", [], n_images=2, split_names=("train", "test"))
        view.items += [(_replace(s, id=s.id + 100, path=f"ok{s.id}.png", verdict="OK"), a, p) for s, a, p in good.items]
        ctx = WriteContext()
        FMT.write(view, tmp_path / "out", ctx)  # type: ignore[attr-defined]
        assert not ctx.losses, dict(ctx.losses)
        assert FMT.detect(tmp_path / "out").confidence >= 0.8
        items = {Path(item.path).stem: item for item in _read(tmp_path / "out")}
        assert len(items) == len(view.items)
        for sample, anns in view.samples():
            item = items[Path(sample.path).stem]
            assert_same_annotations(anns, item.annotations)
            assert (item.split, item.verdict) == (sample.split, "OK" if sample.verdict == "OK" else "NG")
            assert item.metadata == {"category": "default"}


def _replace(sample: Sample, **changes: object) -> Sample:
    from dataclasses import replace

    return replace(sample, **changes)  # type: ignore[arg-type]


def _read(path: Path, ctx: ReadContext | None = None) -> list[ImportItem]:
    return list(FMT.read(path, ctx or ReadContext()).items)


def _png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _category(root: Path) -> Path:
    """A small MVTec category: 2 train/good, 1 test/good, 2 test/crack (one with a 5-pixel mask)."""
    image = np.full((6, 8, 3), 100, dtype=np.uint8)
    for rel in (
        "train/good/000.png",
        "train/good/001.png",
        "test/good/000.png",
        "test/crack/000.png",
        "test/crack/001.png",
    ):
        _png(root / rel, image)
    mask = np.zeros((6, 8), dtype=np.uint8)
    mask[2, 1:6] = 255
    _png(root / "ground_truth" / "crack" / "000_mask.png", mask)
    _png(root / "ground_truth" / "crack" / "001_mask.png", np.zeros((6, 8), dtype=np.uint8))
    return root


# --- real sample ------------------------------------------------------------------------------


def test_datumaro_variant() -> None:
    if not DATUMARO_MVTEC.exists():
        pytest.skip(f"../shared/data is absent: {DATUMARO_MVTEC} not found")
    assert FMT.detect(DATUMARO_MVTEC).confidence >= 0.8
    reading = FMT.read(DATUMARO_MVTEC, ReadContext())
    assert reading.labelbook.names() == ["label_0", "label_1", "label_2"]
    assert reading.labelbook.classes["label_0"].kinds == ["tag"]
    assert reading.labelbook.classes["label_1"].kinds == ["mask", "tag"]
    items = {item.path: item for item in reading.items}
    assert sorted(items) == [f"category_0/default/label_{i}/000.png" for i in range(3)]
    for i, item in enumerate(items.values()):
        assert (item.split, item.verdict, item.metadata) == ("unassigned", "NG", {"category": "category_0"})
        masks = [a.geometry.area() for a in item.annotations if a.kind == "mask"]
        assert [a.label for a in item.annotations if a.kind == "tag"] == [f"label_{i}"]
        assert masks == ([] if i == 0 else [16])  # label_0 has no ground truth; the others 16 pixels at 255
    assert items["category_0/default/label_1/000.png"].origin == "category_0/ground_truth/label_1/000_mask.png"


# --- layout rules -----------------------------------------------------------------------------


def test_mvtec_category_and_multi_category_root(tmp_path: Path) -> None:
    _category(tmp_path / "bottle")
    _category(tmp_path / "screw")
    (tmp_path / "license.txt").write_text("CC BY-NC-SA 4.0")
    single = {item.path: item for item in _read(tmp_path / "bottle")}
    assert sorted(single) == [
        "test/crack/000.png",
        "test/crack/001.png",
        "test/good/000.png",
        "train/good/000.png",
        "train/good/001.png",
    ]
    assert [
        (i.split, i.verdict, i.annotations) for i in (single["train/good/000.png"], single["test/good/000.png"])
    ] == [("train", "OK", []), ("test", "OK", [])]
    crack = single["test/crack/000.png"]
    assert (crack.split, crack.verdict, crack.expected_size) == ("test", "NG", (8, 6))
    assert [(a.kind, a.label) for a in crack.annotations] == [("tag", "crack"), ("mask", "crack")]
    assert crack.annotations[1].geometry.area() == 5
    assert [a.kind for a in single["test/crack/001.png"].annotations] == ["tag"]  # all-background mask
    both = _read(tmp_path)
    assert len(both) == 10 and {i.metadata["category"] for i in both} == {"bottle", "screw"}
    assert FMT.detect(tmp_path).confidence >= 0.8 and FMT.detect(tmp_path / "bottle").confidence >= 0.8


def test_detect_rejects_plain_folders(tmp_path: Path) -> None:
    _png(tmp_path / "scratch" / "a.png", np.zeros((2, 2), dtype=np.uint8))
    detection = FMT.detect(tmp_path)
    assert detection.confidence == 0 and "ground_truth" in detection.reasons[0]


# --- bad input --------------------------------------------------------------------------------


def test_unreadable_mask(tmp_path: Path) -> None:
    root = _category(tmp_path / "bottle")
    bad = root / "ground_truth" / "crack" / "000_mask.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageError) as info:
        _read(root)
    assert info.value.path == str(bad) and "cannot read mask" in str(info.value)
    ctx = ReadContext(skip_bad=True)
    items = _read(root, ctx)
    assert len(items) == 4 and "test/crack/000.png" not in {i.path for i in items}
    assert [type(p) for p in ctx.problems] == [ImageError]


# --- writing ----------------------------------------------------------------------------------


def _sample(i: int, split: str, verdict: str | None) -> Sample:
    return Sample(
        id=i,
        path=f"img{i}.png",
        blob="0" * 64,
        width=8,
        height=6,
        mode="RGB",
        format="PNG",
        split=split,
        verdict=verdict,
        metadata={"category": "pcb"},
    )  # type: ignore[arg-type]


def test_write_records_losses(tmp_path: Path) -> None:
    image = _png(tmp_path / "src.png", np.zeros((6, 8, 3), dtype=np.uint8))
    area = np.zeros((6, 8), dtype=bool)
    area[1:3, 1:3] = True
    samples = [
        (_sample(1, "train", "NG"), [Annotation("crack", Tag())]),
        (
            _sample(2, "val", "NG"),
            [
                Annotation("crack", Box(0, 0, 4, 4)),
                Annotation("crack", Polyline([(0, 0), (2, 2)])),
                Annotation("dent", array_to_mask(area)),
            ],
        ),
        (
            _sample(3, "test", "NG"),
            [Annotation("crack", array_to_mask(area), attributes={"depth": 1}), Annotation("crack", Box(4, 4, 6, 6))],
        ),
        (_sample(4, "test", "OK"), [Annotation("crack", Tag())]),
        (_sample(5, "unassigned", None), []),
    ]
    view = MemoryView(LabelBook(), [(s, a, image) for s, a in samples])
    ctx = WriteContext()
    FMT.write(view, tmp_path / "out", ctx)  # type: ignore[attr-defined]
    assert ctx.losses == {
        "NG train images -> dropped (MVTec train/ holds only good images)": 1,
        "val split -> test (MVTec has only train and test)": 1,
        "unassigned split -> test (MVTec has only train and test)": 1,
        "box -> mask (rasterised)": 2,
        "polyline -> dropped (MVTec ground truth holds only areas)": 1,
        "areas of another class than the image's defect type -> dropped (one defect type per image)": 1,
        "annotation attributes -> dropped (MVTec masks hold none)": 1,
        "several areas of the defect in an image -> merged into one mask": 1,
        "annotations of OK images -> dropped (MVTec good images carry none)": 1,
        "images without a verdict or annotations -> good (MVTec has no 'unknown')": 1,
    }
    out = tmp_path / "out" / "pcb"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "ground_truth/crack/img2_mask.png",
        "ground_truth/crack/img3_mask.png",
        "test/crack/img2.png",
        "test/crack/img3.png",
        "test/good/img4.png",
        "test/good/img5.png",
    ]
    mask = np.asarray(Image.open(out / "ground_truth" / "crack" / "img3_mask.png"))
    assert sorted(np.unique(mask).tolist()) == [0, 255] and int((mask == 255).sum()) == 4 + 4
