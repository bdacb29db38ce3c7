"""Exporting a version exactly as it was, in any format, through the ordinary export machinery."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from keepsight.dataset import Dataset
from keepsight.export import ExportReport, export_view
from keepsight.model.annotation import Annotation, Sample
from keepsight.versions.api import load_manifest
from keepsight.versions.manifest import Manifest, revision_annotations


class VersionView:
    """The :class:`~keepsight.formats.base.ExportView` of a version: its samples, splits and
    annotation revisions, images read from the blob store by digest."""

    def __init__(self, ds: Dataset, manifest: Manifest, *, splits: Iterable[str] | None = None,
                 batch: int = 500) -> None:
        self.ds = ds
        self.manifest = manifest
        self.labelbook = manifest.label_book()
        self.splits = set(splits) if splits else None
        self.batch = batch
        self.count = 0

    def samples(self) -> Iterator[tuple[Sample, list[Annotation]]]:
        self.count = 0
        chosen = [e for e in self.manifest.entries if self.splits is None or e.split in self.splits]
        for start in range(0, len(chosen), self.batch):
            entries = chosen[start:start + self.batch]
            rows = [r for e in entries for r in e.revisions]
            with self.ds.reading() as conn:
                found = dict(revision_annotations(conn, rows))
            for e in entries:
                self.count += 1
                yield e.sample(), [found[r] for r in e.revisions]

    def copy_image(self, sample: Sample, dest: Path) -> None:
        self.ds.blobs.copy_to(sample.blob, dest)


def export_version(ds: Dataset, version: str, dest: Path | str, *, format: str, strict: bool = False,
                   overwrite: bool = False, splits: Iterable[str] | None = None,
                   options: dict[str, Any] | None = None) -> ExportReport:
    """Write version ``version`` (``v3``, ``latest``) to ``dest`` in ``format``, with its split lists."""
    view = VersionView(ds, load_manifest(ds, version), splits=splits)
    return export_view(view, dest, format=format, strict=strict, overwrite=overwrite, options=options)
