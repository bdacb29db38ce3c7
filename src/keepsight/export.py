"""Exporting a dataset for training, atomically, and never losing information silently."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepsight.dataset import Dataset
from keepsight.errors import DatasetError, FormatError
from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.registry import get_format
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import LabelBook


@dataclass
class ExportReport:
    format: str
    dest: str
    samples: int
    losses: dict[str, int] = field(default_factory=dict)
    split_lists: list[str] = field(default_factory=list)  # the split list files written, relative to dest

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "dest": self.dest, "samples": self.samples, "losses": self.losses,
                "split_lists": self.split_lists}


class DatasetView:
    """The :class:`~keepsight.formats.base.ExportView` of a dataset's active samples."""

    def __init__(self, ds: Dataset, *, splits: Iterable[str] | None = None) -> None:
        self.ds = ds
        self.labelbook: LabelBook = ds.labelbook()
        self.splits = set(splits) if splits else None
        self.count = 0

    def samples(self) -> Iterable[tuple[Sample, list[Annotation]]]:
        self.count = 0
        for sample, annotations in self.ds.samples_with_annotations():
            if self.splits is None or sample.split in self.splits:
                self.count += 1
                yield sample, annotations

    def copy_image(self, sample: Sample, dest: Path) -> None:
        self.ds.copy_image(sample, dest)


# Writers whose own files already say the split the way their trainers read it (YOLO's train.txt
# and data.yaml, VOC's ImageSets/Main/<split>.txt, MVTec's train/ and test/ folders, which move
# val and defective train images to test); every other export gets splits/<split>.txt.
OWN_SPLIT_LISTS = frozenset({"yolo", "voc", "mvtec"})
SPLIT_LIST_DIR = "splits"
_LISTED = ("train", "val", "test")


class _RecordingView:
    """Wraps a view and remembers where each sample's image was written (for the split lists)."""

    def __init__(self, view: ExportView, root: Path) -> None:
        self.view = view
        self.root = root
        self.labelbook = view.labelbook
        self.written: dict[int, tuple[str, str]] = {}  # sample id -> (split, path relative to the export)

    def samples(self) -> Iterable[tuple[Sample, list[Annotation]]]:
        return self.view.samples()

    def copy_image(self, sample: Sample, dest: Path) -> None:
        self.view.copy_image(sample, dest)
        self.written[sample.id] = (sample.split, dest.relative_to(self.root).as_posix())


def write_split_lists(root: Path, written: dict[int, tuple[str, str]]) -> list[str]:
    """``splits/train.txt`` (val, test): the exported image paths of each split, relative to the export."""
    lists: dict[str, list[str]] = {split: [] for split in _LISTED}
    for _sid, (split, rel) in sorted(written.items()):
        if split in lists:
            lists[split].append(rel)
    made = []
    for split, paths in lists.items():
        if paths:
            target = root / SPLIT_LIST_DIR / f"{split}.txt"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
            made.append(f"{SPLIT_LIST_DIR}/{split}.txt")
    return made


def export_view(view: ExportView, dest: Path | str, *, format: str, strict: bool = False, overwrite: bool = False,
                options: dict[str, Any] | None = None, split_lists: bool = True) -> ExportReport:
    """Write any :class:`ExportView` (the live dataset, a version) to ``dest``: atomic, losses counted."""
    dest = Path(dest).resolve()
    fmt = get_format(format)
    if not hasattr(fmt, "write"):
        raise FormatError(f"format {format!r} can be imported but not exported")
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise DatasetError("destination exists and is not empty; choose another or pass --overwrite", path=dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    ctx = WriteContext(options=options, destination=dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    recording = _RecordingView(view, tmp)
    try:
        fmt.write(recording, tmp, ctx)  # type: ignore[attr-defined]
        if strict and ctx.losses:
            lost = "; ".join(f"{what}: {n}" for what, n in ctx.losses.items())
            raise FormatError(f"export to {format} would lose information ({lost}); nothing was written", path=dest)
        lists = write_split_lists(tmp, recording.written) if split_lists and format not in OWN_SPLIT_LISTS else []
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    count = getattr(view, "count", len(recording.written))
    return ExportReport(format=format, dest=str(dest), samples=count, losses=dict(ctx.losses), split_lists=lists)


def export_dataset(ds: Dataset, dest: Path | str, *, format: str, strict: bool = False, overwrite: bool = False,
                   splits: Iterable[str] | None = None, options: dict[str, Any] | None = None,
                   split_lists: bool = True) -> ExportReport:
    """Write ``ds`` to ``dest`` in ``format``.

    The export is written to a temporary folder next to ``dest`` and renamed into place, so
    ``dest`` holds either a complete export or nothing. Lossy conversions are counted in the
    report; with ``strict`` any loss aborts the export and nothing is written. Besides the
    format's own files, ``splits/<split>.txt`` list the exported images of train, val and test
    (YOLO, VOC and MVTec say the split their own way: ``data.yaml``, ``ImageSets/Main``, folders).
    """
    return export_view(DatasetView(ds, splits=splits), dest, format=format, strict=strict, overwrite=overwrite,
                       options=options, split_lists=split_lists)
