"""Export to DOTA: ``<split>/images`` + ``<split>/labelTxt`` (flat ``images`` + ``labelTxt`` when unassigned)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keepsight.formats._common.text import box_corners, enclosing_rotated_box, export_name
from keepsight.formats.base import ExportView, WriteContext
from keepsight.formats.dota.lines import header_lines, object_line
from keepsight.model.annotation import Annotation
from keepsight.model.geometry import Box, Polygon, RotatedBox


def write(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    used: dict[Path, set[str]] = {}
    written_classes: set[str] = set()
    for sample, anns in view.samples():
        folder = dest if sample.split == "unassigned" else dest / sample.split
        name = export_name(sample, used.setdefault(folder, set()))
        view.copy_image(sample, folder / "images" / name)
        lines = header_lines(sample.metadata)
        for ann in anns:
            corners = _corners(ann, ctx)
            if corners is not None:
                lines.append(object_line(corners, ann.label, bool(ann.attributes.get("difficult", False))))
                written_classes.add(ann.label)
        label = folder / "labelTxt" / Path(name).with_suffix(".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    unused = [name for name in view.labelbook.names() if name not in written_classes]
    if unused:
        ctx.loss("classes without objects dropped (DOTA has no class list)", len(unused))


def _corners(ann: Annotation, ctx: WriteContext) -> np.ndarray | None:
    """The quad to write for ``ann`` (None when DOTA cannot hold it), recording every loss."""
    if set(ann.attributes) - {"difficult"}:
        ctx.loss("attributes dropped (DOTA keeps only 'difficult')")
    geometry = ann.geometry
    if isinstance(geometry, RotatedBox):
        return geometry.corners()
    if isinstance(geometry, Box):
        ctx.loss("box -> rotated_box (DOTA quads read back as rotated boxes)")
        return box_corners(geometry)
    if isinstance(geometry, Polygon) and len(geometry.points) == 4:
        ctx.loss("polygon -> rotated_box (4-point polygons read back as their tightest rotated box)")
        return geometry.array()
    if ann.kind in ("polygon", "polyline", "mask"):
        ctx.loss(f"{ann.kind} -> rotated_box (DOTA holds 4 corners: minimum-area rectangle written)")
        rotated = enclosing_rotated_box(geometry)
        return rotated.corners() if rotated is not None else None
    ctx.loss(f"{ann.kind} dropped (DOTA holds only oriented boxes)")
    return None
