"""Image views for the HTML report: a small embedded image plus vector overlays in image pixels.

Each view is an inline SVG whose ``viewBox`` is the original image's pixel grid, so annotation
geometry and evidence boxes are drawn with their stored coordinates, crisp at any zoom; the
picture underneath is a reduced JPEG (the descriptor stage's stored thumbnail when it is big
enough, otherwise one reduced-size decode). Each picture is embedded once and referenced by id
(``<use href="#im3">``), so a sample shown by several findings costs its bytes once.

Evidence a check can put in ``Finding.evidence`` to have it drawn (all in original image pixels):

* ``box`` / ``boxes``: ``[x1, y1, x2, y2]`` / a list of them, regions to point at (a suspected
  marking, an out-of-image region), drawn dashed on the finding's first sample;
* any list of objects carrying a ``box`` (``markings``, ``edits``...): each drawn the same way,
  titled by its ``colour``/``kind``; a ``source_box`` beside it (a clone's source) is drawn in
  a second colour with a line to the box;
* ``boxes_by_path`` (``{path: [[x1, y1, x2, y2], ...]}``) or ``boxes_by_sample`` (keyed by the
  sample id as text): boxes per sample, for findings on several images;
* ``margin`` (pixels), ``margins_px`` (a list; the largest is drawn) or ``margins_by_sample``:
  the border band regions should keep clear of (``position.edge``), drawn as a shaded frame.

The regions named by ``Finding.annotations`` are drawn bold in their class colour, the sample's
other regions faint, for context.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np
from sqlalchemy import Table, select

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import decode_reduced
from keepsight.descriptors.store import DescriptorStore
from keepsight.errors import KeepsightError
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import REGION_KINDS, Box, Mask, Points, Polygon, Polyline, RotatedBox
from keepsight.model.labelbook import _PALETTE, LabelBook
from keepsight.storage.catalog import tables
from keepsight.storage.catalog.rows import annotation_from_row, sample_from_row

# tables.annotations shares its name with tables.py's `from __future__ import annotations`, which confuses mypy.
annotations_table = cast(Table, tables.annotations)
samples_table = tables.samples
JPEG_QUALITY = 82
EVIDENCE_COLOUR = "#ffffff"
SOURCE_COLOUR = "#00d5ff"
MARGIN_COLOUR = "#ff8c00"
_BATCH = 500


@dataclass
class Shape:
    """One SVG element: ``tag`` and attribute names come from this module, values are escaped by the template."""

    tag: str
    attrs: dict[str, str]
    title: str = ""


@dataclass
class View:
    sample_id: int | None
    path: str
    width: int
    height: int
    image_id: str | None  # None: the picture could not be read (the note says why)
    shapes: list[Shape] = field(default_factory=list)
    split: str | None = None
    verdict: str | None = None
    note: str = ""
    labels: list[str] = field(default_factory=list)  # classes drawn, for the legend


def fetch_samples(ds: Dataset, ids: Iterable[int]) -> dict[int, tuple[Sample, list[Annotation]]]:
    """The samples named by findings (any status) with their live annotations, in batches."""
    wanted = sorted(set(ids))
    out: dict[int, tuple[Sample, list[Annotation]]] = {}
    with ds.reading() as conn:
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start:start + _BATCH]
            rows = conn.execute(select(samples_table).where(samples_table.c.id.in_(chunk))).mappings().all()
            anns: dict[int, list[Annotation]] = {}
            for arow in conn.execute(select(annotations_table).where(
                    annotations_table.c.sample_id.in_(chunk), annotations_table.c.deleted.is_(False))
                    .order_by(annotations_table.c.id)).mappings():
                anns.setdefault(arow["sample_id"], []).append(annotation_from_row(arow))
            for row in rows:
                out[row["id"]] = (sample_from_row(row), anns.get(row["id"], []))
    return out


def class_colours(book: LabelBook, extra: Iterable[str] = ()) -> dict[str, str]:
    """Class -> ``#rrggbb``: the label book's colour, or a palette colour for classes it lacks."""
    colours: dict[str, str] = {}
    for name, spec in book.classes.items():
        rgb = spec.rgb()
        colours[name] = "#{:02x}{:02x}{:02x}".format(*rgb) if rgb else _PALETTE[len(colours) % len(_PALETTE)]
    for name in extra:
        if name not in colours:
            colours[name] = _PALETTE[len(colours) % len(_PALETTE)]
    return colours


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _points(pts: Iterable[Sequence[float]]) -> str:
    return " ".join(f"{_fmt(float(x))},{_fmt(float(y))}" for x, y in pts)


def _finite_box(item: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(item, list | tuple) or len(item) != 4:
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in item)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return None
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _mask_outlines(mask: Mask, px: float) -> list[np.ndarray]:
    """The mask's outer contours, simplified to about one display pixel."""
    binary = mask.decode().astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for c in contours:
        simple = cv2.approxPolyDP(c, max(0.5, px), True).reshape(-1, 2)
        out.append(simple if len(simple) >= 3 else c.reshape(-1, 2))
    return out


def region_shapes(ann: Annotation, colour: str, *, emphasis: bool, px: float) -> list[Shape]:
    """SVG elements for one region annotation. ``px``: image pixels per display pixel."""
    cls = "region on" if emphasis else "region"
    base = {"class": cls, "stroke": colour, "fill": "none"}
    g = ann.geometry
    title = ann.label
    if isinstance(g, Box):
        return [Shape("rect", {**base, "x": _fmt(g.x1), "y": _fmt(g.y1), "width": _fmt(max(g.x2 - g.x1, px)),
                               "height": _fmt(max(g.y2 - g.y1, px))}, title)]
    if isinstance(g, RotatedBox):
        corners = g.corners()
        head = (corners[1] + corners[2]) / 2  # the middle of the +x side: where a directed class points
        return [Shape("polygon", {**base, "points": _points(corners)}, title),
                Shape("line", {**base, "x1": _fmt(g.cx), "y1": _fmt(g.cy), "x2": _fmt(float(head[0])),
                               "y2": _fmt(float(head[1]))}, title)]
    if isinstance(g, Polygon):
        return [Shape("polygon", {**base, "points": _points(g.array())}, title)]
    if isinstance(g, Polyline):
        return [Shape("polyline", {**base, "points": _points(g.array())}, title)]
    if isinstance(g, Points):
        r = _fmt(3 * px)
        return [Shape("circle", {**base, "cx": _fmt(float(x)), "cy": _fmt(float(y)), "r": r, "fill": colour}, title)
                for x, y in g.array()]
    if isinstance(g, Mask):
        return [Shape("polygon", {**base, "points": _points(c), "fill": colour}, title)
                for c in _mask_outlines(g, px)]
    return []


def _margin(evidence: dict[str, Any], sample: Sample) -> float | None:
    by_sample = evidence.get("margins_by_sample")
    value: Any = by_sample.get(str(sample.id)) if isinstance(by_sample, dict) else evidence.get("margin")
    listed = evidence.get("margins_px")
    if value is None and isinstance(listed, list):
        numbers = [v for v in listed if isinstance(v, int | float) and not isinstance(v, bool)]
        value = max(numbers, default=None)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _boxes_to_draw(evidence: dict[str, Any], sample: Sample, first: bool) -> list[tuple[Any, Any, str]]:
    """(box, source box or None, title) for this sample, following the conventions in the module docstring."""
    for key, wanted in (("boxes_by_sample", str(sample.id)), ("boxes_by_path", sample.path)):
        table = evidence.get(key)
        if isinstance(table, dict):
            listed = table.get(wanted, [])
            return [(b, None, "evidence") for b in listed] if isinstance(listed, list) else []
    if not first:
        return []
    out: list[tuple[Any, Any, str]] = []
    # Described objects first (markings, edits: [{"box": [...], "kind": ..., "source_box": ...}]), so that a
    # plain "box" repeating one of them (the best one) does not take the place of its richer entry.
    for key, items in evidence.items():
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict) and "box" in item:
                    title = " ".join(str(item[k]) for k in ("colour", "kind") if isinstance(item.get(k), str)) or key
                    out.append((item["box"], item.get("source_box"), title))
    if "box" in evidence:
        out.append((evidence["box"], None, "evidence"))
    boxes = evidence.get("boxes")
    if isinstance(boxes, list):
        out += [(b, None, "evidence") for b in boxes]
    return out


def _rounded(box: Sequence[float]) -> tuple[float, ...]:
    return tuple(round(float(v), 1) for v in box)


def _rect(box: tuple[float, float, float, float]) -> dict[str, str]:
    x1, y1, x2, y2 = box
    return {"x": _fmt(x1), "y": _fmt(y1), "width": _fmt(max(x2 - x1, 1.0)), "height": _fmt(max(y2 - y1, 1.0))}


def evidence_shapes(evidence: dict[str, Any], sample: Sample, first: bool, px: float,
                    drawn: set[tuple[float, ...]] | None = None) -> list[Shape]:
    """Evidence boxes, clone sources and the edge margin of one sample, in image pixels.

    ``drawn``: bounds of regions already drawn bold; an evidence box that only repeats one is left out.
    """
    shapes: list[Shape] = []
    width, height = sample.width, sample.height
    margin = _margin(evidence, sample)
    if margin is not None:
        m = min(margin, width / 2, height / 2)
        frame = (f"M0,0H{width}V{height}H0Z M{_fmt(m)},{_fmt(m)}V{_fmt(height - m)}"
                 f"H{_fmt(width - m)}V{_fmt(m)}Z")
        shapes.append(Shape("path", {"class": "margin", "d": frame, "fill": MARGIN_COLOUR},
                            f"edge margin: {_fmt(margin)} px"))
    dash = f"{_fmt(5 * px)} {_fmt(3 * px)}"
    seen: set[tuple[float, ...]] = set()
    for raw, raw_source, title in _boxes_to_draw(evidence, sample, first):
        box = _finite_box(raw)
        if box is None or box in seen or _rounded(box) in (drawn or set()):
            continue
        seen.add(box)
        shapes.append(Shape("rect", {"class": "evidence-halo", "fill": "none", **_rect(box)}))
        shapes.append(Shape("rect", {"class": "evidence", "stroke": EVIDENCE_COLOUR, "fill": "none",
                                     "stroke-dasharray": dash, **_rect(box)}, title))
        source = _finite_box(raw_source)
        if source is not None:  # a clone: where the patch was copied from, and an arrow to where it went
            shapes.append(Shape("rect", {"class": "evidence source", "stroke": SOURCE_COLOUR, "fill": "none",
                                         "stroke-dasharray": dash, **_rect(source)}, f"{title}: source"))
            shapes.append(Shape("line", {"class": "evidence source", "stroke": SOURCE_COLOUR,
                                         "x1": _fmt((source[0] + source[2]) / 2), "y1": _fmt((source[1] + source[3]) / 2),
                                         "x2": _fmt((box[0] + box[2]) / 2), "y2": _fmt((box[1] + box[3]) / 2)},
                                f"{title}: copied from here to there"))
    return shapes


class ViewBuilder:
    """Makes views and keeps every embedded picture once (``images``: id -> data URI)."""

    def __init__(self, ds: Dataset, colours: dict[str, str]) -> None:
        self.ds = ds
        self.colours = colours
        self.store = DescriptorStore.for_dataset(ds)
        self.images: dict[str, tuple[str, int, int]] = {}  # id -> (data URI, image width, height)
        self._ids: dict[tuple[str, int], str | None] = {}
        self._errors: dict[str, str] = {}

    def _encode(self, sample: Sample, side: int) -> str | None:
        key = (sample.blob, side)
        if key in self._ids:
            return self._ids[key]
        jpeg = self._thumbnail(sample.blob) if side <= 128 else None
        if jpeg is None:
            try:
                pixels, _mode, _size, _scale = decode_reduced(self.ds.image_bytes(sample), side)
            except KeepsightError as exc:  # unreadable or missing: the view says so, the report goes on
                self._errors[sample.blob] = exc.message
                self._ids[key] = None
                return None
            if pixels.ndim == 3:
                pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
            ok, buf = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            jpeg = buf.tobytes() if ok else None
        image_id = None
        if jpeg:
            image_id = f"im{len(self.images)}"
            uri = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
            self.images[image_id] = (uri, sample.width, sample.height)
        self._ids[key] = image_id
        return image_id

    def _thumbnail(self, digest: str) -> bytes | None:
        if not self.store.has(digest):
            return None
        return self.store.load(digest).thumbnail or None

    def view(self, sample: Sample, anns: list[Annotation], *, side: int, highlight: set[str],
             evidence: dict[str, Any], first: bool) -> View:
        image_id = self._encode(sample, side)
        px = max(sample.width, sample.height) / side
        shapes: list[Shape] = []
        labels: list[str] = []
        regions = [a for a in anns if a.kind in REGION_KINDS]
        # Faint context first, so the regions the finding names are drawn on top.
        for ann in sorted(regions, key=lambda a: (a.uid or "") in highlight):
            emphasis = not highlight or (ann.uid or "") in highlight
            shapes += region_shapes(ann, self.colours.get(ann.label, "#cccccc"), emphasis=emphasis, px=px)
            if emphasis and ann.label not in labels:
                labels.append(ann.label)
        bold = {_rounded(b) for a in regions if not highlight or (a.uid or "") in highlight
                if (b := a.geometry.bounds()) is not None}
        shapes += evidence_shapes(evidence, sample, first, px, bold)
        note = "" if image_id else f"no picture: {self._errors.get(sample.blob, 'not available')}"
        return View(sample.id, sample.path, sample.width, sample.height, image_id, shapes, sample.split,
                    sample.verdict, note, labels)
