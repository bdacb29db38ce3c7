"""COCO object-detection / instance-segmentation JSON (also Datumaro's, Roboflow's and mmdet's layouts).

Layouts read::

    root/                                  standard (what ``write`` produces)
      annotations/instances_<split>.json   also labels_, stuff_, person_keypoints_, image_info_<split>.json
      images/<split>/<file_name>

    root/<split>/_annotations.coco.json    Roboflow: images next to the JSON
    root/<split>/<file_name>

    root/annotations/<any>.json            mmdet: images under root/<split>/
    root/<split>/<file_name>

    some/file.json                         one JSON given directly: images next to it, then in images/

Mapping: ``bbox`` -> Box; polygon ``segmentation`` -> Polygon (when an annotation has a
segmentation its bbox is derived and not kept); several polygons in one annotation -> one
Polygon per part, all carrying the attribute ``coco_group`` = the annotation id, which the
writer uses to regroup them; RLE (compressed or uncompressed) -> Mask; ``iscrowd: 1`` ->
attribute ``iscrowd: true``; Datumaro's per-annotation ``attributes`` dict is kept; an
annotation with neither bbox nor segmentation (Datumaro's ``labels_<split>.json``) -> Tag;
visible ``keypoints`` -> Points (from a keypoints file, boxes and polygons are skipped when the
instances file of the same split is present, since COCO repeats them there). Files of one
split are merged by image. ``captions_*.json`` and ``panoptic_*.json`` are ignored: detect()
names them in its reasons.

Write: Box -> bbox, Polygon -> segmentation (parts with one ``coco_group`` regrouped), Mask ->
compressed RLE (``iscrowd`` from the attribute), other attributes -> ``attributes``.
Rotated boxes become polygons, tags, polylines and points are dropped: each is a reported loss.
"""

from __future__ import annotations

from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext
from keepsight.formats.coco import layout
from keepsight.formats.coco.read import iter_items, load_files
from keepsight.formats.coco.write import write_coco
from keepsight.model.labelbook import LabelBook

NAME = "coco"


class CocoFormat:
    name = NAME
    description = "COCO instances JSON (standard, Roboflow and mmdet layouts; Datumaro's labels files)"

    def detect(self, path: Path) -> Detection:
        if path.is_file() and path.suffix.lower() != ".json":
            return Detection.no(NAME, "not a folder or a .json file")
        root, files = layout.find_files(path)
        if not files:
            return Detection.no(
                NAME,
                "no *.json with 'images' and 'annotations' keys (looked in annotations/, "
                f"<split>/{layout.ROBOFLOW_NAME} and the folder itself)",
            )
        usable = [f for f in files if f.task not in layout.IGNORED_TASKS]
        ignored = [f"ignored {f.path.name}: {layout.IGNORED_TASKS[f.task]}" for f in files if f not in usable]
        if not usable:
            return Detection.no(NAME, *ignored)
        names = ", ".join(f.path.relative_to(root).as_posix() for f in usable[:5])
        return Detection(NAME, 0.9, [f"COCO annotation files: {names}", *ignored])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        root, files = layout.find_files(path)
        labelbook = LabelBook()
        loaded = load_files(root, files, ctx, labelbook)
        return Reading(labelbook=labelbook, items=iter_items(root, loaded, ctx), classes_declared=True)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_coco(view, dest, ctx)


FORMAT = CocoFormat()
