"""Images with same-stem mask PNGs (binary, soft or indexed), e.g. the Magnetic-tile dataset.

Layouts read (any mix; folders may nest)::

    root/MT_Blowhole/Imgs/X.jpg  + X.png          side by side (Magnetic-tile): X.png is X.jpg's mask
    root/scratch/X.png           + X_mask.png     side by side, *_mask.png
    root/images/[a/]X.jpg        + root/masks/[a/]X.png (or X_mask.png)   parallel folders
    root/masks/classes.txt  (or labelmap.txt / labelmap.csv, here or in a parent folder)

Written::

    dest/classes.txt                         line i = mask value i; line 0 is _background_
    dest/images/[<split>/][<class>/]X.jpg    the image bytes, unchanged
    dest/masks/[<split>/][<class>/]X.png     one indexed (palette) PNG per image

Mask PNGs (in masks/-like folders, named ``*_mask.png``, or a PNG beside a same-stem JPEG/
BMP/... image) are never imported as images.

Reading a mask:

* **Binary or soft masks** (grey, no class map): a pixel is foreground when
  ``value >= mask_threshold`` (option, default 128 of 255), so anti-aliased edges are cut
  at half intensity; a mask whose values are all 0 or 1 is a 0/1 mask. The class is the
  ``mask_class`` option, else the image's class folder, else ``defect``.
* **Indexed masks**: with a class map (the ``class_map`` option ``{index: name}``, or a
  ``classes.txt`` / ``labelmap.txt`` / ``labelmap.csv`` beside the masks), each value is a
  class (0 = background) and every class present gives one Mask. ``classes.txt`` has one
  name per line; if its first line is a background name (``background``, ``_background_``)
  that line is value 0, otherwise the first line is value 1. ``labelmap.txt`` lines are
  ``name:r,g,b::`` (colour masks are matched by colour). A palette PNG with several
  indices and no class map is an error; value 255 of a palette mask (VOC's outline) is
  ignored unless named.
* An all-background mask gives no annotation.

Folders: images/-like folders are skipped; a first folder named like a split (train/val/
test) gives the split; the last remaining folder is the **class folder**. A leading ``MT_``
is removed from its name (Magnetic-tile's ``MT_Crack`` is class ``Crack``). A class folder
that reads as a verdict (``Free``, ``good``, ``OK``, ``normal``, ``NG``...) sets that
verdict and gives no class, as in ``image_folder``; any other class folder tags the image
with its class and sets verdict NG. Without a class folder, an image whose mask has
foreground is NG. The option ``class_from_folder=False`` turns class folders off.

Writing keeps masks losslessly (one mask per class per image); boxes, rotated boxes and
polygons are rasterised, polylines and points dropped, overlapping areas of different
classes resolved in annotation order: each is recorded as a loss.
"""

from __future__ import annotations

from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext
from keepsight.formats.mask_folder._layout import MaskFinder, peek_images
from keepsight.formats.mask_folder.read import read_mask_folder
from keepsight.formats.mask_folder.write import write_mask_folder

NAME = "mask_folder"
_PEEK = 20


class MaskFolderFormat:
    name = NAME
    description = "images with same-stem mask PNGs (binary, soft or indexed), side by side or in masks/"

    def detect(self, path: Path) -> Detection:
        if not path.is_dir():
            return Detection.no(NAME, "not a folder")
        images = peek_images(path, _PEEK)
        if not images:
            return Detection.no(NAME, "no images (other than mask PNGs) found")
        finder = MaskFinder(path, Path.is_file)
        paired = sum(finder.find(image) is not None for image in images)
        if paired * 2 <= len(images):
            return Detection.no(
                NAME,
                f"only {paired} of {len(images)} sampled images have a same-stem mask PNG "
                "(X.png beside X.jpg, X_mask.png, or masks/X.png)",
            )
        # Pairing is specific, but the layout has no signature file: stay below signature formats.
        return Detection(NAME, 0.6, [f"{paired} of {len(images)} sampled images have a same-stem mask PNG"])

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_mask_folder(path, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_mask_folder(view, dest, ctx)


FORMAT = MaskFolderFormat()
