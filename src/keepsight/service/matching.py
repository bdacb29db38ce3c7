"""Is this region the same object as that one? IoU and one-to-one matching (Hungarian).

* boxes, rotated boxes and polygons: polygon IoU with shapely;
* masks: pycocotools RLE IoU; a mask against a polygon-like region rasterises the region;
* polylines and points have no area: they are compared as bands of ``tolerance`` pixels
  around them (shapely buffers);
* regions of different classes never match; tags are compared as sets of labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.optimize import linear_sum_assignment

from keepsight.model.annotation import Annotation
from keepsight.model.convert import array_to_mask, polygon_to_mask
from keepsight.model.geometry import Box, Mask, Points, Polygon, Polyline, RotatedBox


def _shape(annotation: Annotation, tolerance: float) -> shapely.Geometry:
    g = annotation.geometry
    if isinstance(g, Box):
        return shapely.box(g.x1, g.y1, g.x2, g.y2)
    if isinstance(g, RotatedBox):
        return shapely.Polygon(g.corners())
    if isinstance(g, Polygon):
        shape = shapely.Polygon(g.points)
        return shape if shape.is_valid else shapely.make_valid(shape)
    if isinstance(g, Polyline):
        return shapely.LineString(g.points).buffer(tolerance)
    if isinstance(g, Points):
        return shapely.MultiPoint(g.points).buffer(tolerance)
    raise TypeError(f"no shape for {annotation.kind}")


def _as_rle(annotation: Annotation, height: int, width: int) -> dict[str, object]:
    g = annotation.geometry
    if isinstance(g, Mask):
        return g.to_rle()
    if isinstance(g, Polygon):
        return polygon_to_mask(g, height, width).to_rle()
    hull = shapely.convex_hull(_shape(annotation, 1.0))
    if hull.area == 0:
        return array_to_mask(np.zeros((height, width), dtype=bool)).to_rle()
    return polygon_to_mask(Polygon(tuple((float(x), float(y)) for x, y in hull.exterior.coords[:-1])), height,
                           width).to_rle()


def iou_matrix(a: Sequence[Annotation], b: Sequence[Annotation], *, tolerance: float) -> np.ndarray:
    """IoU of every region of ``a`` with every region of ``b``; 0 across classes."""
    out = np.zeros((len(a), len(b)), dtype=np.float64)
    if not a or not b:
        return out
    masks = any(x.kind == "mask" for x in [*a, *b])
    if masks:
        from pycocotools import mask as mask_utils

        grid = next(x.geometry for x in [*a, *b] if isinstance(x.geometry, Mask))
        h, w = grid.height, grid.width
        ra = [_as_rle(x, h, w) for x in a]
        rb = [_as_rle(x, h, w) for x in b]
        out = np.asarray(mask_utils.iou(ra, rb, [0] * len(rb)), dtype=np.float64).reshape(len(a), len(b))
    else:
        sa = np.array([_shape(x, tolerance) for x in a], dtype=object)
        sb = np.array([_shape(x, tolerance) for x in b], dtype=object)
        inter = shapely.area(shapely.intersection(sa[:, None], sb[None, :]))
        union = shapely.area(shapely.union(sa[:, None], sb[None, :]))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    same_class = np.array([[x.label == y.label for y in b] for x in a])
    return np.where(same_class, out, 0.0)


@dataclass(frozen=True)
class Match:
    i: int
    j: int
    iou: float


def match_regions(a: Sequence[Annotation], b: Sequence[Annotation], *, threshold: float,
                  tolerance: float) -> list[Match]:
    """One-to-one pairs of same-class regions with IoU >= threshold, maximising the total IoU."""
    ious = iou_matrix(a, b, tolerance=tolerance)
    if ious.size == 0:
        return []
    rows, cols = linear_sum_assignment(ious, maximize=True)
    return [Match(int(i), int(j), float(ious[i, j])) for i, j in zip(rows, cols, strict=True) if ious[i, j] >= threshold]


def regions(annotations: Sequence[Annotation]) -> list[Annotation]:
    return [a for a in annotations if a.kind != "tag"]


def tags(annotations: Sequence[Annotation]) -> set[str]:
    return {a.label for a in annotations if a.kind == "tag"}


@dataclass
class ClassCounts:
    """Counts behind an agreement score: 2 * matched / (left + right) is the F1 of the two sides."""

    matched: int = 0
    left: int = 0
    right: int = 0
    iou_sum: float = 0.0

    def add(self, other: ClassCounts) -> None:
        self.matched += other.matched
        self.left += other.left
        self.right += other.right
        self.iou_sum += other.iou_sum

    @property
    def agreement(self) -> float | None:
        total = self.left + self.right
        return 2 * self.matched / total if total else None

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.matched if self.matched else None


def compare(a: Sequence[Annotation], b: Sequence[Annotation], *, threshold: float,
            tolerance: float) -> dict[str, ClassCounts]:
    """Per-class counts of one image annotated twice (regions by IoU matching, tags by label)."""
    out: dict[str, ClassCounts] = {}
    ra, rb = regions(a), regions(b)
    for x in ra:
        out.setdefault(x.label, ClassCounts()).left += 1
    for y in rb:
        out.setdefault(y.label, ClassCounts()).right += 1
    for m in match_regions(ra, rb, threshold=threshold, tolerance=tolerance):
        counts = out[ra[m.i].label]
        counts.matched += 1
        counts.iou_sum += m.iou
    ta, tb = tags(a), tags(b)
    for label in ta | tb:
        counts = out.setdefault(label, ClassCounts())
        counts.left += label in ta
        counts.right += label in tb
        if label in ta and label in tb:
            counts.matched += 1
            counts.iou_sum += 1.0
    return out


def f1_against(answer: Sequence[Annotation], truth: Sequence[Annotation], *, threshold: float,
               tolerance: float) -> float:
    """How well ``answer`` reproduces ``truth`` (a gold answer): 1.0 when both are empty."""
    total = ClassCounts()
    for counts in compare(answer, truth, threshold=threshold, tolerance=tolerance).values():
        total.add(counts)
    return total.agreement if total.agreement is not None else 1.0
