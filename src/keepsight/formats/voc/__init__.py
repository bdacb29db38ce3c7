"""Pascal VOC: one XML per image with axis-aligned boxes.

Layout read (folder names in any letter case; several trees under one root are all read)::

    root/
      Annotations/<id>.xml          <annotation><filename>, <size>, <object><name>, <bndbox>...
      JPEGImages/<id>.jpg           (or IMAGES/, images/: a sibling of the annotation folder)
      ImageSets/Main/<split>.txt    train/val/test (trainval = train); <class>_<split>.txt ignored
      ImageSets/Segmentation/<split>.txt
      SegmentationClass/<id>.png    optional: class masks (palette or RGB, see masks.py)
      SegmentationObject/<id>.png   optional: instance masks
      labelmap.txt                  optional: name:r,g,b:parts:actions (declares the classes)
      Validation_Annotations/ + Validation_Images/   any "<prefix>Annotations" pairs with
                                    "<prefix>Images"/"<prefix>JPEGImages" (NEU-DET); the prefix is
                                    NOT a split: only ImageSets lists give splits
    flat/                           no Annotations/ folder: VOC XML next to the images
      train/a.xml  train/a.jpg      (LabelImg, Roboflow); a folder named train/valid/test is the split

Layout written::

    dest/Annotations/<id>.xml  dest/JPEGImages/<id>.<ext>  dest/ImageSets/Main/{train,val,test}.txt
    dest/labelmap.txt          (<id> = image stem; prefixed with the sample id when two stems clash)

Conventions:

* Box coordinates are kept **as written** (VOC's 1-based pixel indices are not shifted), as
  datumaro and most tools do; xmax/ymax are read as the right/bottom edges.
* ``difficult``/``truncated``/``occluded`` become boolean attributes when set (0 is VOC's
  default and is not stored); ``pose`` is kept unless ``Unspecified``; ``<actions>`` children
  and datumaro's ``<attributes><attribute><name>/<value>`` become attributes (values that look
  like booleans or canonical numbers are typed). ``<part>`` boxes become boxes of their own
  with attribute ``part_of`` = the number of their object in the file.
* The image is ``<filename>`` looked up in the image folders, then next to the XML, then by
  file name anywhere under the root; a name without extension (NEU-DET) matches by stem.
  ``<folder>`` is ignored (NEU-DET puts class abbreviations there).
* Images in the image folders without an XML are imported without annotations.
* Written: only boxes. Rotated boxes, polygons, polylines, points and masks are written as
  their bounding box, tags are dropped (both reported as losses); the label map lists the
  label book's classes (no ``background`` line).
"""

from __future__ import annotations

from pathlib import Path

from keepsight.errors import ParseError
from keepsight.formats._common.xmlio import parse_xml
from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext

from .layout import ANNOTATIONS, find_trees, xml_kind
from .read import read_voc
from .write import write_voc

NAME = "voc"


def _annotation_folder_root(path: Path) -> Path:
    """The folder that holds ``path`` when ``path`` is an ``*Annotations`` folder, else ``path``."""
    return path.parent if path.name.lower().endswith(ANNOTATIONS) else path


class VocFormat:
    name = NAME
    description = "Pascal VOC XML (Annotations/ + JPEGImages/ + ImageSets/)"

    def detect(self, path: Path) -> Detection:
        if path.is_file():
            return self._detect_file(path)
        if not path.is_dir():
            return Detection.no(NAME, "path does not exist")
        top = _annotation_folder_root(path)
        notes: list[str] = []
        trees = find_trees(top, notes)
        if not trees:
            return Detection.no(
                NAME,
                *(
                    notes
                    or [
                        "no Annotations/ folder or folder of *.xml with a VOC "
                        "<annotation> root (<size>, <object><bndbox>)"
                    ]
                ),
            )
        names = ", ".join(sorted({t.ann_dir.relative_to(top).as_posix() or "." for t in trees})[:5])
        flat = all(tree.flat for tree in trees)
        # XML beside images is a weaker signature than a VOC Annotations/ folder.
        return Detection(NAME, 0.6 if flat else 0.9, [f"VOC XML in {names}"], root=top if top != path else None)

    def _detect_file(self, path: Path) -> Detection:
        if path.suffix.lower() != ".xml":
            return Detection.no(NAME, "not a folder or a VOC .xml file")
        try:
            kind = xml_kind(parse_xml(path))
        except ParseError as err:
            return Detection.no(NAME, err.reason)
        if kind != "voc":
            return Detection.no(NAME, "the XML has no VOC <annotation> root with <size> or <object><bndbox>")
        return Detection(NAME, 0.9, ["a Pascal VOC XML file"], root=_annotation_folder_root(path.parent))

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_voc(_annotation_folder_root(path), ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_voc(view, dest, ctx)


FORMAT = VocFormat()
