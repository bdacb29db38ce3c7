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

from collections.abc import Iterator
from pathlib import Path

from keepsight.errors import AnnotationError
from keepsight.formats.base import (
    Detection,
    ExportView,
    ImportItem,
    ReadContext,
    Reading,
    WriteContext,
    iter_images,
    relative_name,
)
from keepsight.model.annotation import Annotation, normalize_split, normalize_verdict
from keepsight.model.geometry import Tag
from keepsight.model.labelbook import LabelBook

NAME = "image_folder"
_SPLIT_NAMES = {"train", "training", "val", "valid", "validation", "test", "testing"}


def _verdict(name: str) -> str | None:
    try:
        return normalize_verdict(name)
    except AnnotationError:
        return None


class ImageFolderFormat:
    name = NAME
    description = "folders of images named by class or OK/NG verdict"

    def detect(self, path: Path) -> Detection:
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        subdirs = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if not subdirs:
            return Detection.no(NAME, "no sub-folders to read classes from")
        with_images = [d for d in subdirs if any(True for _ in iter_images(d))]
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
            split = None
            if parts and parts[0].lower() in _SPLIT_NAMES:
                split = normalize_split(parts[0])
                parts = parts[1:]
            item = ImportItem(path=relative_name(image, path), source=image, split=split)
            if parts:
                label = parts[-1]
                verdict = _verdict(label)
                if verdict is not None:
                    item.verdict = verdict  # type: ignore[assignment]
                else:
                    item.annotations.append(Annotation(label=label, geometry=Tag()))
            yield item

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        for sample, annotations in view.samples():
            tags = [a.label for a in annotations if a.kind == "tag"]
            regions = [a for a in annotations if a.kind != "tag"]
            if regions:
                ctx.loss(f"{len(regions)} regions dropped (image folders hold only classes)", len(regions))
            folder = tags[0] if tags else (sample.verdict or "unlabelled")
            if len(tags) > 1:
                ctx.loss("images with several tags written under their first tag")
            split = sample.split if sample.split != "unassigned" else ""
            target = dest / split / folder / Path(sample.path).name
            if target.exists():
                target = target.with_name(f"{sample.id}_{target.name}")
            view.copy_image(sample, target)


FORMAT = ImageFolderFormat()
