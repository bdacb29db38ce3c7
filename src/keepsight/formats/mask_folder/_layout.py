"""Where a mask folder keeps its files: which PNGs are masks, which mask goes with an image."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from keepsight.formats.base import IMAGE_EXTENSIONS
from keepsight.model.annotation import Split, Verdict, split_or_none, verdict_or_none

IMAGE_DIRS = frozenset({"images", "image", "imgs", "img", "jpegimages"})
MASK_DIRS = frozenset({"masks", "mask", "gt", "groundtruth", "ground_truth", "segmentationclass"})
MASK_SUFFIX = "_mask"
CLASS_PREFIX = "MT_"  # Magnetic-tile names its class folders MT_<class>


def non_png_stems(files: list[Path]) -> dict[Path, set[str]]:
    """Stems of the non-PNG images of each folder: a PNG with one of these stems is their mask."""
    stems: dict[Path, set[str]] = {}
    for path in files:
        if path.suffix.lower() != ".png":
            stems.setdefault(path.parent, set()).add(path.stem)
    return stems


def is_mask_file(path: Path, root: Path, stems: dict[Path, set[str]]) -> bool:
    """A PNG in a masks/ folder, named ``*_mask.png``, or beside a same-stem JPEG/BMP/... image."""
    if any(part.lower() in MASK_DIRS for part in path.relative_to(root).parts[:-1]):
        return True
    if path.suffix.lower() != ".png":
        return False
    return path.stem.lower().endswith(MASK_SUFFIX) or path.stem in stems.get(path.parent, ())


class MaskFinder:
    """Finds the mask of an image: ``X_mask.png`` or ``X.png`` beside it, or the same path under masks/."""

    def __init__(self, root: Path, exists: Callable[[Path], bool]) -> None:
        self.root = root
        self.exists = exists
        self._mask_dirs: dict[Path, list[Path]] = {}

    def find(self, image: Path) -> Path | None:
        return next((c for c in self._candidates(image) if c != image and self.exists(c)), None)

    def _candidates(self, image: Path) -> Iterator[Path]:
        stem = image.stem
        yield image.with_name(f"{stem}{MASK_SUFFIX}.png")
        yield image.with_name(f"{stem}.png")
        dirs = image.relative_to(self.root).parts[:-1]
        # (folder that holds masks/, sub-path below it): images/a/X.jpg -> masks/a/X.png
        bases = [(self.root.joinpath(*dirs[:i]), dirs[i + 1 :]) for i, d in enumerate(dirs) if d.lower() in IMAGE_DIRS]
        if not bases:
            bases.append((self.root, dirs))
        bases.append((image.parent, ()))
        for base, sub in bases:
            for mask_dir in self._dirs(base):
                folder = mask_dir.joinpath(*sub)
                yield folder / f"{stem}.png"
                yield folder / f"{stem}{MASK_SUFFIX}.png"

    def _dirs(self, base: Path) -> list[Path]:
        if base not in self._mask_dirs:
            try:
                self._mask_dirs[base] = sorted(p for p in base.iterdir() if p.name.lower() in MASK_DIRS and p.is_dir())
            except OSError:
                self._mask_dirs[base] = []
        return self._mask_dirs[base]


def folder_info(image: Path, root: Path) -> tuple[Split | None, str | None, Verdict | None]:
    """(split, class, verdict) from the image's folders.

    images/ and similar folders are skipped; a first folder named like a split gives the
    split; the last remaining folder is the class folder (a leading ``MT_`` removed). A class
    folder that reads as a verdict (``Free``, ``good``, ``OK``...) gives verdict OK (or NG)
    and no class; any other class folder gives verdict NG.
    """
    parts = [p for p in image.relative_to(root).parts[:-1] if p.lower() not in IMAGE_DIRS]
    split = split_or_none(parts[0]) if parts else None
    if split is not None:
        parts = parts[1:]
    if not parts:
        return split, None, None
    name = class_name(parts[-1])
    verdict = verdict_or_none(name)
    bare_verdict = name.upper() in {"OK", "NG"}
    return split, (None if bare_verdict else name), (verdict or "NG")


def class_name(folder: str) -> str:
    return (
        folder[len(CLASS_PREFIX) :] if folder.startswith(CLASS_PREFIX) and len(folder) > len(CLASS_PREFIX) else folder
    )


def peek_images(root: Path, limit: int, max_files: int = 5000) -> list[Path]:
    """Up to ``limit`` non-mask images in walk order, looking at no more than ``max_files`` files."""
    found: list[Path] = []
    seen = 0
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        files = [Path(folder) / n for n in sorted(names) if Path(n).suffix.lower() in IMAGE_EXTENSIONS]
        stems = non_png_stems(files)
        found += [f for f in files if not is_mask_file(f, root, stems)]
        seen += len(names)
        if len(found) >= limit or seen >= max_files:
            break
    return found[:limit]
