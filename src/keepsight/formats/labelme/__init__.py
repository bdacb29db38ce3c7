"""LabelMe JSON: one JSON per image, anywhere under the root.

Layout read::

    root/
      a.jpg  a.json            {"imagePath": "a.jpg", "imageData": <base64 or null>,
                                "imageWidth", "imageHeight", "flags": {...},
                                "shapes": [{"label", "points", "shape_type", "group_id",
                                            "flags", "description", "mask"}]}
      label/b.json + data/b.jpg   JSONs and images in different folders (BSData)
      data/c.jpg                  an image no JSON names: imported without annotations

Layout written::

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
  skipped. The old LabelMe XML of the MIT web tool (``Annotations/*.xml`` with
  ``<polygon><pt>``, ``<segm>`` masks and scribbles) is not supported: detection says so.
* Written: rotated boxes become polygons, attributes other than booleans/``group_id``/
  ``description`` are dropped, tag attributes are dropped (all reported as losses).
  Splits are not stored (LabelMe has none).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from keepsight.formats.base import Detection, ExportView, ReadContext, Reading, WriteContext

from .read import looks_like_labelme, old_labelme_xml, read_labelme
from .write import write_labelme

NAME = "labelme"
_PEEK_FILES = 50


class LabelmeFormat:
    name = NAME
    description = "LabelMe JSON (one .json per image)"

    def detect(self, path: Path) -> Detection:
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
        xml = old_labelme_xml(path)
        if xml is not None:
            return Detection.no(
                NAME,
                f"{xml.relative_to(path).as_posix()} is old LabelMe XML (MIT web tool), which "
                "is not supported; only LabelMe JSON is read",
            )
        return Detection.no(NAME, "no *.json with 'shapes' and 'imagePath' (LabelMe)")

    def read(self, path: Path, ctx: ReadContext) -> Reading:
        return read_labelme(path, ctx)

    def write(self, view: ExportView, dest: Path, ctx: WriteContext) -> None:
        write_labelme(view, dest, ctx)


FORMAT = LabelmeFormat()
