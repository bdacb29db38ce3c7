"""CVAT for images 1.1 XML.

Layout read (task or project export; every top-level *.xml with a CVAT root is read)::

    root/
      annotations.xml       <annotations><version>1.1</version><meta><task|project|job>...<labels>
                            <image id name width height [subset]> with <box>, <polygon>,
                            <polyline>, <points>, <mask>, <tag> children
      images/<name>         task export
      images/<subset>/<name>  project export (CVAT 2.x)

Layout written::

    dest/annotations.xml    one <task> meta with the label book (and every attribute used)
    dest/images/<sample path>

Conventions:

* ``<box rotation="r">`` with r not a multiple of 360 is ``RotatedBox(cx, cy, w, h, r)``: CVAT
  rotates the box clockwise on screen about its centre, keepsight's convention too. A rotated
  box with angle 0 is written without ``rotation`` and so reads back as a box.
* ``<mask rle left top width height>``: run lengths over the box region (row-major, starting
  with 0s), turned into a full-image mask; written the same way over the mask's bounding box.
* Labels come from ``<meta>``; a shape with an undeclared label, or no label, is an
  AnnotationError. ``<attribute name>`` children are typed by the label's declaration
  (checkbox -> bool, number -> int/float, select/radio/text -> text). The shape fields
  ``occluded="1"``, a non-zero ``z_order``/``group_id`` and a ``source`` other than ``manual``
  become attributes of those names and are written back as fields.
* ``subset`` (else the task's ``<subset>``, else the file stem of datumaro's ``train.xml``...) is the split when it is a train/val/test alias
  (``Train``, ``Validation``...); another subset name is kept in ``metadata["subset"]``.
* CVAT for video (``<track>`` elements) is rejected: tracks interpolate between key frames
  and do not name image files. ``<ellipse>``, ``<cuboid>`` and ``<skeleton>`` shapes are
  reported as AnnotationErrors (skippable with --skip-bad).
"""

from __future__ import annotations

from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext

from .read import VIDEO_REASON, cvat_files, peek_kind, read_cvat
from .write import write_cvat

NAME = "cvat"
_PEEK_FILES = 20  # a CVAT export has one XML (datumaro: one per subset); a VOC folder may have thousands


class CvatFormat:
    name = NAME
    description = "CVAT for images 1.1 XML (annotations.xml + images/)"

    def detect(self, path: Path) -> Detection:
        if not path.exists():
            return Detection.no(NAME, "path does not exist")
        if path.is_file() and path.suffix.lower() != ".xml":
            return Detection.no(NAME, "not a folder or an .xml file")
        files = cvat_files(path, limit=_PEEK_FILES)
        kinds = {file.name: peek_kind(file) for file in files}
        images = [name for name, kind in kinds.items() if kind == "images"]
        if images:
            root = path.parent if path.is_file() else None
            return Detection(NAME, 0.95, [f"CVAT for images XML: {', '.join(images[:3])}"], root=root)
        if kinds:
            return Detection.no(NAME, VIDEO_REASON)
        return Detection.no(NAME, "no *.xml with a CVAT <annotations> root (<version>, <meta>, <image>)")

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_cvat(path, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_cvat(view, dest, ctx)


FORMAT = CvatFormat()
