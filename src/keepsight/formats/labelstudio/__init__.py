"""Label Studio JSON exports of image projects (``Export > JSON``: a list of tasks).

Layout read::

    root/
      export.json            [{"data": {"image": "/data/upload/1/ab12cd34-img.jpg"},
                               "annotations": [{"result": [...]}]}, ...]
      label_config.xml       optional: the project's <View> config; declares the classes
      img.jpg | images/...   the images, found by file name anywhere under root

Layout written::

    dest/
      tasks.json             data.image = "images/<sample path>", data.split, data.verdict
      label_config.xml       one control per kind, declaring the classes
      images/<sample path>

Results read (x, y, width, height in percent of ``original_width``/``original_height``):
``rectanglelabels`` -> Box, or RotatedBox when ``rotation`` != 0 (Label Studio turns the box
clockwise about its top-left corner (x, y), which is keepsight's corner 0); ``polygonlabels``
-> Polygon; ``brushlabels`` with ``format: "rle"`` -> Mask; ``keypointlabels`` -> Points
(keypoints whose ``parentID`` names an earlier keypoint of the same class join its Points);
``choices`` -> Tag; a ``textarea`` (or ``value.text``) sharing a region's ``id`` -> attribute
``text``; other per-region results -> an attribute named by their ``from_name``. Of several
annotations of one task, the ground-truth one is read, else the first not cancelled (the
others are named in the item's metadata); predictions are not read. Images are matched by
file name under the export's folder (Label Studio's 8-hex upload prefix is tolerated); an
image that cannot be found leaves an item whose source does not exist.
"""

from __future__ import annotations

from pathlib import Path

from keepsight.errors import ParseError
from keepsight.formats._common.jsonio import PEEK_BYTES, peek_text
from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext
from keepsight.formats.labelstudio.config import CONFIG_NAME, LabelConfig, read_config
from keepsight.formats.labelstudio.read import iter_items
from keepsight.formats.labelstudio.write import write_labelstudio

NAME = "labelstudio"
_MAX_PEEKS = 50


def _verdict(path: Path, image_key: str) -> tuple[float, str]:
    """(confidence, reason) for one JSON file, judged from its first bytes."""
    text = peek_text(path)
    if not text.lstrip().startswith("["):
        return 0.0, f"{path.name}: not a JSON list of tasks"
    if '"annotations"' not in text and '"completions"' not in text:
        return 0.0, f"{path.name}: tasks have no 'annotations' (JSON-MIN and CSV exports are not read; export JSON)"
    if len(text.encode()) >= PEEK_BYTES and '"data"' not in text:
        return 0.6, f"{path.name}: a list of annotated tasks (task data beyond the first MB not checked)"
    if '"data"' not in text or f'"{image_key}"' not in text:
        return 0.0, f"{path.name}: tasks have no data.{image_key} (not an image project)"
    return 0.85, f"{path.name}: Label Studio tasks with data.{image_key}"


def _root(path: Path) -> Path:
    return path.parent if path.is_file() else path


def _exports(path: Path, image_key: str) -> list[tuple[Path, float, str]]:
    """Each candidate JSON file with its (confidence, reason)."""
    candidates = [path] if path.is_file() else sorted(path.glob("*.json"))[:_MAX_PEEKS]
    return [(p, *_verdict(p, image_key)) for p in candidates if p.suffix.lower() == ".json"]


class LabelStudioFormat:
    name = NAME
    description = "Label Studio JSON export (rectangles, rotated rectangles, polygons, brushes, keypoints, choices)"

    def detect(self, path: Path) -> Detection:
        if not path.exists():
            return Detection.no(NAME, "path does not exist")
        config = _root(path) / CONFIG_NAME
        try:
            image_key = read_config(config).image_key if config.is_file() else "image"
        except ParseError as err:
            return Detection.no(NAME, err.message)
        verdicts = _exports(path, image_key)
        if not verdicts:
            return Detection.no(NAME, "no *.json Label Studio export (a list of tasks) here")
        accepted = [(c, r) for _, c, r in verdicts if c > 0]
        if not accepted:
            return Detection.no(NAME, *(r for _, _, r in verdicts))
        return Detection(NAME, max(c for c, _ in accepted), [r for _, r in accepted])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        root = _root(path)
        config = LabelConfig()
        if (root / CONFIG_NAME).is_file():
            try:
                config = read_config(root / CONFIG_NAME)
            except ParseError as err:
                ctx.problem(err)  # skip-bad: read on without declared classes
        files = [p for p, confidence, _ in _exports(path, config.image_key) if confidence > 0]
        return Reading(
            labelbook=config.labelbook, items=iter_items(root, files, config, ctx), classes_declared=config.declared
        )

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_labelstudio(view, dest, ctx)


FORMAT = LabelStudioFormat()
