"""LabelMe JSON (one JSON per image, anywhere under the root), and the XML of the MIT web tool.

Layout read (JSON)::

    root/
      a.jpg  a.json            {"imagePath": "a.jpg", "imageData": <base64 or null>,
                                "imageWidth", "imageHeight", "flags": {...},
                                "shapes": [{"label", "points", "shape_type", "group_id",
                                            "flags", "description", "mask"}]}
      label/b.json + data/b.jpg   JSONs and images in different folders (BSData)
      data/c.jpg                  an image no JSON names: imported without annotations

Layout read (XML of the original MIT LabelMe web tool, folder names in any letter case)::

    root/
      Annotations/<subset>/<name>.xml  <annotation><filename>, <imagesize><nrows><ncols>,
                                       <object><name>, <deleted>, <occluded>, <attributes>,
                                       <parts><hasparts>/<ispartof>, <id>, <type>,
                                       <polygon><pt><x><y> or <segm><mask>, <box>
      Images/<subset>/<filename>       the image (an image no XML names: imported without annotations)
      Masks/<subset>/<mask>            the mask PNG of a <segm> object
      Scribbles/...                    ignored (the drawing strokes that made the masks)

Layout written (JSON only)::

    dest/<sample path>           the image
    dest/<sample path stem>.json imageData null (option ``labelme_embed=True`` embeds the image)

Conventions:

* The image is ``imagePath`` relative to the JSON's folder (``..`` allowed while it stays
  under the root; absolute paths are refused), else the one image with that file name
  anywhere under the root, else the embedded ``imageData`` (the sample is then named
  ``<json folder>/<imagePath file name>``).
* ``rectangle`` -> box (corners in any order), ``polygon`` -> polygon, ``line``/``linestrip``
  -> polyline, ``point``/``points`` -> points, ``mask`` (base64 PNG of the region starting at
  ``points[0]``) -> full-image mask, ``circle`` -> a 64-vertex polygon with attributes
  ``labelme_shape="circle"``, ``circle_cx``, ``circle_cy``, ``circle_radius`` (written back
  as a circle while the polygon is unchanged).
* Shape ``flags`` become boolean attributes, ``group_id`` and a non-empty ``description``
  attributes of those names. Image ``flags`` set to true become tags.
* JSON files that are not LabelMe (no ``shapes`` list, no ``imagePath``/``imageData``) are
  skipped.
* XML: a ``<polygon>`` -> polygon, or a box when ``<type>bounding_box</type>`` and its 4 points
  are an axis-aligned rectangle; a ``<segm>`` -> full-image mask from ``Masks/<subset>/<mask>``
  (any non-zero channel, alpha included, is the object), either image-sized or box-sized and
  placed at the ``<box>`` top-left corner. ``<attributes>`` text ``a, key=value`` -> attributes
  (flags True, values typed unless quoted, backslash escapes as datumaro writes them);
  ``<occluded>yes`` -> ``occluded=True``; ``<ispartof>`` (a parent ``<id>``; the first when
  several) -> ``part_of`` = the 1-based position of that ``<object>`` in the file, as in the
  voc adapter (dropped when the parent is deleted); ``<deleted>1`` objects are skipped.
  The ``<subset>`` folder is the split when it is a split name (train, valid...), else
  ``metadata["subset"]``. ``<username>``, ``<date>``, ``<verified>`` and scribbles are ignored.
* Written: rotated boxes become polygons, attributes other than booleans/``group_id``/
  ``description`` are dropped, tag attributes are dropped (all reported as losses).
  Splits are not stored (LabelMe has none).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext

from .read import looks_like_labelme, read_labelme
from .write import write_labelme
from .xml_read import find_xml_tree, read_labelme_xml

NAME = "labelme"
_PEEK_FILES = 50


class LabelmeFormat:
    name = NAME
    description = "LabelMe JSON (one .json per image) or MIT LabelMe XML (Annotations/ + Images/ + Masks/)"

    def detect(self, path: Path) -> Detection:
        xml = find_xml_tree(path)
        if xml is not None:
            where = xml.annotations.relative_to(xml.root).as_posix()
            return Detection(NAME, 0.9, [f"MIT LabelMe XML in {where}/"], root=xml.root if xml.root != path else None)
        if path.is_file():
            if path.suffix.lower() == ".json" and looks_like_labelme(path):
                return Detection(NAME, 0.9, ["a LabelMe JSON file"], root=None)
            return Detection.no(NAME, "not a folder or a LabelMe .json file")
        if not path.is_dir():
            return Detection.no(NAME, "path does not exist")
        candidates = (p for p in path.rglob("*.json") if p.is_file() and not p.name.startswith("."))
        found = [p for p in islice(candidates, _PEEK_FILES) if looks_like_labelme(p)]
        if found:
            return Detection(NAME, 0.9, [f"LabelMe JSON such as {found[0].relative_to(path).as_posix()}"])
        return Detection.no(
            NAME,
            "no *.json with 'shapes' and 'imagePath' (LabelMe), and no Annotations/ folder of LabelMe XML "
            "(<annotation><object><polygon> or <segm>)",
        )

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        xml = find_xml_tree(path)
        return read_labelme_xml(xml, ctx) if xml is not None else read_labelme(path, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_labelme(view, dest, ctx)


FORMAT = LabelmeFormat()
