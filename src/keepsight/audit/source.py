"""``keepsight audit PATH``: PATH is a dataset folder, or a folder / annotation file to import first."""

from __future__ import annotations

import re
from pathlib import Path

from keepsight.config import CONFIG_NAME
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.ingest.importer import ImportReport, Progress, import_path


def is_dataset(path: Path) -> bool:
    return (path / CONFIG_NAME).is_file()


def default_dataset_dir(source: Path) -> Path:
    """Where an audited folder's dataset lives when the user names none: beside the current folder, never inside the source."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.resolve().name.rsplit(".", 1)[0]) or "dataset"
    return Path.cwd() / f"{stem}.keepsight"


def open_for_audit(
    source: Path, *, dataset: Path | None = None, format: str | None = None, progress: Progress | None = None
) -> tuple[Dataset, ImportReport | None]:
    """Open the dataset to audit; import ``source`` into it unless ``source`` is a dataset itself.

    The import records bad files as problems instead of stopping (the audit reports them), and it is
    idempotent: auditing the same folder again reuses the dataset and adds only what is new.
    """
    if not source.exists():
        raise DatasetError("nothing to audit here: the path does not exist", path=source)
    if is_dataset(source):
        if dataset is not None and dataset.resolve() != source.resolve():
            raise DatasetError("PATH is already a dataset; do not also pass --dataset", path=source)
        return Dataset.open(source), None
    target = dataset or default_dataset_dir(source)
    if target.resolve() == source.resolve() or source.resolve() in target.resolve().parents:
        raise DatasetError("the dataset folder must not lie inside the folder being audited", path=target)
    ds = Dataset.open(target) if is_dataset(target) else Dataset.init(target)
    try:
        report = import_path(ds, source, format=format, skip_bad=True, progress=progress)
    except BaseException:
        ds.close()
        raise
    return ds, report
