"""Image folders whose sub-folder names are the class or the OK/NG verdict.

Layout::

    root/
      scratch/  img001.png ...      -> tag "scratch"
      OK/       img101.png ...      -> verdict OK (folder names OK/good/NG/bad... are verdicts)
      train/scratch/img.png         -> optional split level above the class level

A folder name that reads as a verdict sets the sample's verdict (``OK``/``good``/``pass``/
``free``/``normal`` or ``NG``/``bad``/``defect``...); any other name is a class tag. Images
directly in ``root`` get no tag.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from keepsight.formats._common.text import folder_split
from keepsight.formats.base import (
    IMAGE_EXTENSIONS,
    Detection,
    ExportView,
    ImportItem,
    ReadContext,
    Reading,
    WriteContext,
    iter_images,
    relative_name,
)
from keepsight.model.annotation import Annotation, Sample, verdict_or_none
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

NAME = "image_folder"


def _has_image(folder: Path) -> bool:
    """Whether any image sits below ``folder``; stops at the first (detect must stay cheap)."""
    for _, subdirs, names in os.walk(folder):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        if any(Path(n).suffix.lower() in IMAGE_EXTENSIONS for n in names):
            return True
    return False


class ImageFolderFormat:
    name = NAME
    description = "folders of images named by class or OK/NG verdict"

    def detect(self, path: Path) -> Detection:
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if not subdirs:
            return Detection.no(NAME, "no sub-folders to read classes from")
        with_images = [d for d in subdirs if _has_image(d)]
        if not with_images:
            return Detection.no(NAME, "no sub-folder holds images")
        # Generic: any folder of folders of images matches, so stay below specific formats.
        return Detection(NAME, 0.3, [f"{len(with_images)} sub-folders hold images"])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        # Classes are only known from folder names, so the importer collects them as it goes.
        return Reading(labelbook=LabelBook(), items=self._items(path), classes_declared=False)

    def _items(self, path: Path) -> Iterator[ImportItem]:
        for image in iter_images(path):
            parts = image.relative_to(path).parts[:-1]
            split = folder_split(parts[0]) if parts else None
            if split is not None:
                parts = parts[1:]
            item = ImportItem(path=relative_name(image, path), source=image, split=split)
            if parts:
                label = parts[-1]
                verdict = verdict_or_none(label)
                if verdict is not None:
                    item.verdict = verdict  # type: ignore[assignment]
                else:
                    item.annotations.append(Annotation(label=label, geometry=Tag()))
            yield item

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        for sample, anns in view.samples():
            for ann in anns:
                if ann.kind != "tag":
                    ctx.loss(f"{ann.kind} -> dropped (image folders hold only classes)")
                elif ann.attributes:
                    ctx.loss("tag attributes -> dropped (a folder name holds no attributes)")
            split = sample.split if sample.split != "unassigned" else ""
            folder = _folder(sample, [a.label for a in anns if a.kind == "tag"], bool(split), ctx)
            target = dest / split / folder / Path(sample.path).name
            if target.exists():
                target = target.with_name(f"{sample.id}_{target.name}")
            view.copy_image(sample, target)


def _folder(sample: Sample, tags: list[str], has_split: bool, ctx: WriteContext) -> str:
    """The class folder (first tag), else the verdict folder, else none (the image sits in its split)."""
    if len(tags) > 1:
        ctx.loss("tags after the first -> dropped (an image sits in one class folder)", len(tags) - 1)
    if not tags:
        return sample.verdict or ""
    folder = tags[0]
    reads_as_split = not has_split and folder_split(folder) is not None
    if verdict_or_none(folder) is not None or reads_as_split or "/" in folder or folder in {".", ".."}:
        ctx.loss(f"tag {folder!r} -> not written (as a folder name it would read back as something else)")
        return sample.verdict or ""
    if sample.verdict is not None:
        ctx.loss("verdict of a tagged image -> dropped (its folder holds the class)")
    return folder


FORMAT = ImageFolderFormat()
