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
from keepsight.formats.base import WriteContext
from keepsight.formats.registry import get_format
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.labelbook import LabelBook


@dataclass
class ExportReport:
    format: str
    dest: str
    samples: int
    losses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "dest": self.dest, "samples": self.samples, "losses": self.losses}


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


def export_dataset(ds: Dataset, dest: Path | str, *, format: str, strict: bool = False, overwrite: bool = False,
                   splits: Iterable[str] | None = None, options: dict[str, Any] | None = None) -> ExportReport:
    """Write ``ds`` to ``dest`` in ``format``.

    The export is written to a temporary folder next to ``dest`` and renamed into place, so
    ``dest`` holds either a complete export or nothing. Lossy conversions are counted in the
    report; with ``strict`` any loss aborts the export and nothing is written.
    """
    dest = Path(dest).resolve()
    fmt = get_format(format)
    if not hasattr(fmt, "write"):
        raise FormatError(f"format {format!r} can be imported but not exported")
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise DatasetError("destination exists and is not empty; choose another or pass --overwrite", path=dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    ctx = WriteContext(options=options)
    view = DatasetView(ds, splits=splits)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        fmt.write(view, tmp, ctx)  # type: ignore[attr-defined]
        if strict and ctx.losses:
            lost = "; ".join(f"{what}: {n}" for what, n in ctx.losses.items())
            raise FormatError(f"export to {format} would lose information ({lost}); nothing was written", path=dest)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return ExportReport(format=format, dest=str(dest), samples=view.count, losses=dict(ctx.losses))
