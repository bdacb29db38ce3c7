"""Where COCO annotation files and their images live: the supported layouts and the split names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from keepsight.formats._common.jsonio import peek_text
from keepsight.formats.base import safe_join
from keepsight.model.annotation import Split, split_or_none

ROBOFLOW_NAME = "_annotations.coco.json"
# Task files COCO and Datumaro write, as ``<task>_<split>.json``.
TASKS = ("instances", "person_keypoints", "labels", "stuff", "captions", "panoptic", "image_info")
# Tasks with nothing that maps onto a keepsight annotation kind.
IGNORED_TASKS = {
    "captions": "captions are free text, not annotations keepsight stores",
    "panoptic": "panoptic PNG segments are not read; import the instances file of the same split",
}
_TASK_RE = re.compile(rf"^({'|'.join(TASKS)})_(.+)$")
_SPLIT_WORD = re.compile(r"[a-z]+")
_MAX_PEEKS = 50  # detect() looks at no more files than this


@dataclass(frozen=True)
class CocoFile:
    """One annotation file: its task (from its name) and its split as written (e.g. ``train2017``)."""

    path: Path
    task: str
    split_name: str | None

    @property
    def split(self) -> Split | None:
        return split_of(self.split_name)


def split_of(name: str | None) -> Split | None:
    """keepsight's split for names like ``train``, ``val2017``, ``test-dev2017``; None if unknown."""
    if not name:
        return None
    word = _SPLIT_WORD.match(name.lower())
    if word is None:
        return None
    return split_or_none(word.group())


def classify(path: Path) -> CocoFile:
    """Task and split from the file name (``instances_train.json``, Roboflow's ``train/_annotations.coco.json``)."""
    if path.name == ROBOFLOW_NAME:
        return CocoFile(path, "instances", path.parent.name)
    match = _TASK_RE.match(path.stem)
    if match:
        return CocoFile(path, match.group(1), match.group(2))
    # mmdet-style ``annotations/train.json``: a split name alone means instances of that split.
    return CocoFile(path, "instances", path.stem if split_of(path.stem) else None)


def looks_like_coco(path: Path) -> bool:
    """A JSON object with an ``images`` list of ``file_name`` entries, judged from its first bytes.

    ``file_name`` is required: other tools' metadata files also have ``images`` and
    ``annotations`` keys (BSData's image_data.json has ``filename`` entries).
    """
    text = peek_text(path).lstrip()
    return text.startswith("{") and '"images"' in text and '"file_name"' in text


def find_files(path: Path) -> tuple[Path, list[CocoFile]]:
    """The dataset root and its annotation files, for a folder or a single JSON file."""
    if path.is_file():
        root = path.parent.parent if path.parent.name == "annotations" else path.parent
        return root, [classify(path)] if looks_like_coco(path) else []
    groups = (
        sorted((path / "annotations").glob("*.json")) if (path / "annotations").is_dir() else [],
        sorted(path.glob(f"*/{ROBOFLOW_NAME}")),
        sorted(path.glob("*.json")),
    )
    for group in groups:
        files = [classify(p) for p in group[:_MAX_PEEKS] if looks_like_coco(p)]
        if files:
            return path, files
    return path, []


class ImageResolver:
    """Finds an image named in a COCO file among the places the supported layouts put it."""

    def __init__(self, root: Path, coco_file: CocoFile) -> None:
        self.root = root
        json_dir = coco_file.path.parent
        split = coco_file.split_name
        bases = [json_dir, json_dir / "images"]
        if split:
            bases += [root / "images" / split, root / split]
        bases += [root / "images", root]
        self.bases = list(dict.fromkeys(bases))
        # Where a missing image is expected: the standard layout, or next to a stand-alone JSON.
        if json_dir == root / "annotations":
            self.default = root / "images" / split if split else root / "images"
        else:
            self.default = json_dir
        self._hit = 0  # the base that last matched is tried first: images of one file sit together

    def resolve(self, file_name: str, *, origin: str, element: str) -> tuple[str, Path]:
        """(sample path relative to the root, image path); the path may not exist."""
        order = [self._hit, *(i for i in range(len(self.bases)) if i != self._hit)]
        for index in order:
            candidate = safe_join(self.bases[index], file_name, origin=origin, element=element)
            if candidate.is_file():
                self._hit = index
                return candidate.relative_to(self.root).as_posix(), candidate
        expected = safe_join(self.default, file_name, origin=origin, element=element)
        return expected.relative_to(self.root).as_posix(), expected
