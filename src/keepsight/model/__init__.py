"""The data model: one validated container, absolute pixel coordinates."""

from keepsight.model.annotation import (
    SPLITS,
    Annotation,
    Sample,
    Split,
    Verdict,
    geometry_equal,
    normalize_split,
    normalize_verdict,
)
from keepsight.model.geometry import (
    KINDS,
    REGION_KINDS,
    Box,
    Geometry,
    Kind,
    Mask,
    Points,
    Polygon,
    Polyline,
    RotatedBox,
    Tag,
    geometry_from_json,
)
from keepsight.model.labelbook import AttributeSpec, ClassSpec, LabelBook, Orientation

__all__ = [
    "KINDS", "REGION_KINDS", "SPLITS", "Annotation", "AttributeSpec", "Box", "ClassSpec", "Geometry", "Kind",
    "LabelBook", "Mask", "Orientation", "Points", "Polygon", "Polyline", "RotatedBox", "Sample", "Split", "Tag",
    "Verdict", "geometry_equal", "geometry_from_json", "normalize_split", "normalize_verdict",
]
