"""keepsight's own simple manifest: one line per image, for datasets no other format fits.

Layout::

    root/keepsight-manifest.jsonl    (or keepsight-manifest.csv; the JSONL wins if both exist)
    root/<image paths the manifest names, relative to the manifest's folder>

Any ``.jsonl`` or ``.csv`` file can also be given directly when its first record (JSONL) or
header (CSV) has an ``image`` field. See docs/formats/manifest.md for the full reference.

**JSON lines** (UTF-8, one JSON object per line, blank lines ignored)::

    {"format": "keepsight-manifest", "version": 1, "labelbook": {"classes": {...}}}   optional header
    {"image": "rel/path.png", "split": "train", "verdict": "NG", "tags": ["scratch"],
     "metadata": {"camera": "c1", "part_serial": "A17"}, "width": 640, "height": 480,
     "annotations": [{"kind": "box", "label": "scratch", "geometry": [10, 20, 50, 60],
                      "attributes": {"severity": 2}}]}

Only ``image`` is required. ``split`` is train/val/test/unassigned (or an alias such as
``valid``); ``verdict`` is OK, NG or null; ``tags`` are image-level classes; ``metadata`` is
any JSON object; ``width``/``height`` (both or neither) are checked against the image.
Each annotation has ``kind``, ``label``, ``geometry`` (omit or null for a tag) and optional
``attributes``. Geometry is keepsight's catalog JSON, in absolute pixels:

======================  =========================================================
kind                    geometry
======================  =========================================================
``box``                 ``[x1, y1, x2, y2]``
``rotated_box``         ``[cx, cy, w, h, angle]`` (degrees, clockwise on screen)
``polygon``             ``[x1, y1, x2, y2, ...]`` (>= 3 vertices)
``polyline``            ``[x1, y1, x2, y2, ...]`` (>= 2 vertices)
``points``              ``[x1, y1, ...]`` (>= 1 point)
``mask``                ``{"size": [h, w], "counts": "<COCO compressed RLE>"}``
``tag``                 ``null``
======================  =========================================================

When the header has a label book, every class used must be declared in it. Unknown keys
are errors (they are usually typos), as are malformed lines; errors name the file and line.

**CSV** (UTF-8, comma-separated, one row per image, header required): columns ``image``
(required), ``split``, ``verdict``, ``tags`` (class names separated by ``;``); every other
column becomes a metadata field (a string; empty cells are left out). CSV holds no region
annotations: use JSON lines for boxes, polygons, masks...

Writing produces ``keepsight-manifest.jsonl`` with a header holding the label book, and
copies the images under their sample paths. It is lossless: every kind, attribute, split,
verdict, tag, metadata field and the label book round-trip.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from keepsight.errors import DatasetError
from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext
from keepsight.formats.manifest.read import FORMAT_TAG, read_csv, read_jsonl
from keepsight.formats.manifest.write import MANIFEST_JSONL, write_manifest

NAME = "manifest"
MANIFEST_CSV = "keepsight-manifest.csv"
_PEEK_BYTES = 1 << 20  # a header line holds the label book


def find_manifest(path: Path) -> Path | None:
    """The manifest file ``path`` is or holds."""
    if path.is_file():
        return path
    for name in (MANIFEST_JSONL, MANIFEST_CSV):
        if (path / name).is_file():
            return path / name
    return None


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace") as stream:
        return stream.readline(_PEEK_BYTES)


def _has_image_field(path: Path) -> bool:
    """Cheap peek: the CSV header or the first JSONL object names an ``image`` field (or is our header)."""
    first = _first_line(path)
    if path.suffix.lower() == ".csv":
        return "image" in [cell.strip() for cell in next(csv.reader([first]), [])]
    try:
        data = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and ("image" in data or data.get("format") == FORMAT_TAG)


class ManifestFormat:
    name = NAME
    description = "keepsight manifest: keepsight-manifest.jsonl / .csv, one line per image"

    def detect(self, path: Path) -> Detection:
        file = find_manifest(path)
        if file is None:
            return Detection.no(NAME, f"no {MANIFEST_JSONL} or {MANIFEST_CSV}")
        if file.suffix.lower() not in (".jsonl", ".csv"):
            return Detection.no(NAME, "not a .jsonl or .csv file")
        if not _has_image_field(file):
            return Detection.no(NAME, f"{file.name}: the first line has no 'image' field")
        if file.name in (MANIFEST_JSONL, MANIFEST_CSV):
            return Detection(NAME, 0.95, [f"found {file.name}"])
        # Any CSV/JSONL with an image column: plausible, but other tools write such files too.
        return Detection(NAME, 0.6, [f"{file.name} has an 'image' field"])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        file = find_manifest(path)
        if file is None:
            raise DatasetError(f"no {MANIFEST_JSONL} or {MANIFEST_CSV} here", path=path)
        if file.suffix.lower() == ".csv":
            return read_csv(file, ctx)
        return read_jsonl(file, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_manifest(view, dest, ctx)


FORMAT = ManifestFormat()
