"""Image views for the HTML report: a small embedded image plus vector overlays in image pixels.

Each view is an inline SVG whose ``viewBox`` is the original image's pixel grid, so annotation
geometry and evidence boxes are drawn with their stored coordinates, crisp at any zoom; the
picture underneath is a reduced JPEG (the descriptor stage's stored thumbnail when it is big
enough, otherwise one reduced-size decode). Each picture is embedded once and referenced by id
(``<use href="#im3">``), so a sample shown by several findings costs its bytes once.

Evidence a check can put in ``Finding.evidence`` to have it drawn (all in original image pixels):

* ``boxes``: ``[[x1, y1, x2, y2], ...]`` regions to point at (a suspected marking, a clone
  source), drawn dashed on the finding's first sample;
* ``boxes_by_sample``: ``{"<sample id>": [[x1, y1, x2, y2], ...]}`` the same, per sample;
* ``margin``: a number of pixels, the border band a region should keep clear of (``position.edge``),
  drawn as a shaded frame; ``margins_by_sample`` (``{"<sample id>": pixels}``) per sample.

The regions named by ``Finding.annotations`` are drawn bold in their class colour, the sample's
other regions faint, for context.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import decode_reduced
from keepsight.descriptors.store import DescriptorStore
from keepsight.errors import KeepsightError
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import REGION_KINDS, Box, Mask, Points, Polygon, Polyline, RotatedBox
from keepsight.model.labelbook import _PALETTE, LabelBook
from keepsight.storage.catalog import tables as t
from keepsight.storage.catalog.rows import annotation_from_row, sample_from_row

JPEG_QUALITY = 82
EVIDENCE_COLOUR = "#ffffff"
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
            rows = conn.execute(select(t.samples).where(t.samples.c.id.in_(chunk))).mappings().all()
            anns: dict[int, list[Annotation]] = {}
            for arow in conn.execute(select(t.annotations).where(
                    t.annotations.c.sample_id.in_(chunk), t.annotations.c.deleted.is_(False))
                    .order_by(t.annotations.c.id)).mappings():
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


def evidence_shapes(evidence: dict[str, Any], sample_id: int, first: bool, width: int, height: int,
                    px: float) -> list[Shape]:
    """Evidence boxes and the edge margin of one sample, in image pixels (see the module docstring)."""
    shapes: list[Shape] = []
    by_sample = evidence.get("margins_by_sample")
    margin = by_sample.get(str(sample_id)) if isinstance(by_sample, dict) else evidence.get("margin")
    if isinstance(margin, int | float) and not isinstance(margin, bool) and math.isfinite(margin) and margin > 0:
        m = min(float(margin), width / 2, height / 2)
        frame = (f"M0,0H{width}V{height}H0Z M{_fmt(m)},{_fmt(m)}V{_fmt(height - m)}"
                 f"H{_fmt(width - m)}V{_fmt(m)}Z")
        shapes.append(Shape("path", {"class": "margin", "d": frame, "fill": MARGIN_COLOUR},
                            f"edge margin: {_fmt(float(margin))} px"))
    boxes_by_sample = evidence.get("boxes_by_sample")
    if isinstance(boxes_by_sample, dict):
        boxes = boxes_by_sample.get(str(sample_id), [])
    else:
        boxes = evidence.get("boxes", []) if first else []
    for item in boxes if isinstance(boxes, list) else []:
        box = _finite_box(item)
        if box is None:
            continue
        x1, y1, x2, y2 = box
        attrs = {"x": _fmt(x1), "y": _fmt(y1), "width": _fmt(max(x2 - x1, 1.0)), "height": _fmt(max(y2 - y1, 1.0))}
        shapes.append(Shape("rect", {"class": "evidence-halo", "fill": "none", **attrs}))
        shapes.append(Shape("rect", {"class": "evidence", "stroke": EVIDENCE_COLOUR, "fill": "none",
                                     "stroke-dasharray": f"{_fmt(5 * px)} {_fmt(3 * px)}", **attrs}, "evidence"))
    return shapes


class ViewBuilder:
    """Makes views and keeps every embedded picture once (``images``: id -> data URI)."""

    def __init__(self, ds: Dataset, colours: dict[str, str]) -> None:
        self.ds = ds
        self.colours = colours
        self.store = DescriptorStore(ds.root)
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
        shapes += evidence_shapes(evidence, sample.id, first, sample.width, sample.height, px)
        note = "" if image_id else f"no picture: {self._errors.get(sample.blob, 'not available')}"
        return View(sample.id, sample.path, sample.width, sample.height, image_id, shapes, sample.split,
                    sample.verdict, note, labels)
