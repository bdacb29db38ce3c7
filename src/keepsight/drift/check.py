"""``keepsight drift check DIR``: a batch of production images, replayed through a monitor in order."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keepsight.dataset import Dataset
from keepsight.drift.config import DriftConfig
from keepsight.drift.features import Prediction
from keepsight.drift.monitor import DriftSession, Monitor
from keepsight.drift.windows import Clock
from keepsight.errors import DatasetError, ImageError, ParseError
from keepsight.formats.base import IMAGE_EXTENSIONS

Progress = Callable[[int, int], None]


def list_images(folder: Path, *, order: str = "name") -> list[Path]:
    """Image files below ``folder`` (hidden ones skipped), by name or by modification time."""
    if not folder.is_dir():
        raise DatasetError("not a folder of images", path=folder)
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
             and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    if order == "mtime":
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, str(p)))
    if order == "name":
        return sorted(files, key=lambda p: str(p.relative_to(folder)))
    raise ValueError(f"order must be 'name' or 'mtime', got {order!r}")


def load_predictions(path: Path) -> dict[str, Prediction]:
    """A JSON object mapping image file names (or paths relative to the checked folder) to predictions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ParseError(f"cannot read predictions: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise ParseError("predictions must be a JSON object: {\"image name\": {\"label\": ..., \"confidence\": ...}}",
                         path=path)
    out: dict[str, Prediction] = {}
    for name, value in data.items():
        try:
            pred = Prediction.coerce(value)
        except ValueError as exc:
            raise ParseError(str(exc), path=path, element=name) from None
        if pred is not None:
            out[name] = pred
    return out


def drift_check(ds: Dataset, images: Path | Iterable[Path], *, config: DriftConfig | None = None,
                predictions: dict[str, Prediction] | None = None, order: str = "name",
                progress: Progress | None = None, clock: Clock | None = None,
                on_window: Callable[[Any], None] | None = None) -> DriftSession:
    """Observe every image (a folder, or paths in order), test the windows, and save the session as a run.

    Image times are the files' modification times, so time windows replay the production timeline.
    Unreadable files are recorded in ``session.skipped`` and do not stop the check.
    """
    root = images if isinstance(images, Path) else None
    files = list_images(images, order=order) if isinstance(images, Path) else list(images)
    monitor = Monitor(ds, config=config, clock=clock, source=str(root) if root else "batch", on_window=on_window)
    predictions = predictions or {}
    for done, path in enumerate(files, start=1):
        rel = str(path.relative_to(root)) if root is not None else path.name
        pred = predictions.get(rel, predictions.get(path.name))
        try:
            monitor.observe(path, pred, name=rel,
                            at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC))
        except (ImageError, OSError) as exc:
            monitor.skip(rel, exc.reason if isinstance(exc, ImageError) else str(exc))
        if progress:
            progress(done, len(files))
    return monitor.finish()
