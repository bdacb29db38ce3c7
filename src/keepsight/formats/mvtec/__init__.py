"""MVTec AD anomaly-detection folders (also anomalib's MVTec layout and datumaro's variant).

Layout (``root`` is one category, or a folder of categories)::

    <category>/train/good/000.png                   split train, verdict OK
    <category>/test/good/000.png                    split test, verdict OK
    <category>/test/<defect>/000.png                split test, verdict NG, Tag <defect>
    <category>/ground_truth/<defect>/000_mask.png   Mask of class <defect> for test/<defect>/000.png
    <category>/default/<label>/000.png              datumaro's variant: split unassigned

Every sample gets ``metadata.category``. Masks are binary PNGs (0/255); a pixel is
foreground when ``value >= mask_threshold`` (option, default 128), and an all-background
mask gives no Mask. A defect image without a mask file keeps its Tag only.

Writing produces ``<category>/train/good``, ``<category>/test/<defect or good>`` and
``<category>/ground_truth/<defect>/<stem>_mask.png`` (category from ``metadata.category``,
else the ``category`` option, else ``default``). What anomalib's layout cannot hold is
recorded as a loss: NG train images (dropped), val/unassigned splits (written to test),
areas other than masks (boxes, polygons and rotated boxes rasterised; polylines and points
dropped), several areas or classes per image (merged to the image's defect type), and
attributes.
"""

from __future__ import annotations

from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext
from keepsight.formats.mvtec.read import GROUND_TRUTH, categories, read_mvtec, split_dirs
from keepsight.formats.mvtec.write import write_mvtec

NAME = "mvtec"


class MvtecFormat:
    name = NAME
    description = "MVTec AD / anomalib anomaly folders: train/good, test/<defect>, ground_truth/<defect>/*_mask.png"

    def detect(self, path: Path) -> Detection:
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        found = categories(path)
        if not found:
            return Detection.no(
                NAME, "no category folder with train/ or test/ class folders plus ground_truth/ or a good/ folder"
            )
        with_masks = [c for c in found if (c / GROUND_TRUTH).is_dir()]
        split_names = sorted({s.name for c in found for s in split_dirs(c)})
        reasons = [f"{len(found)} categories ({', '.join(c.name for c in found[:5])}), splits {split_names}"]
        # ground_truth/ is MVTec's signature; train/good + test/ alone could also be a plain image folder.
        return Detection(NAME, 0.9 if with_masks else 0.7, reasons)

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_mvtec(path, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_mvtec(view, dest, ctx)


FORMAT = MvtecFormat()
