"""Writing one LabelMe JSON beside each copied image."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from keepsight.formats.base import ExportView, WriteContext, safe_join

from .shapes import annotation_to_shape

VERSION = "5.5.0"  # the LabelMe release whose file layout (mask and points shapes) this follows


def write_labelme(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    embed = bool(ctx.option("labelme_embed", False))
    written: set[str] = set()
    for sample, sample_annotations in view.samples():
        image = safe_join(dest, sample.path)
        if str(image.with_suffix(".json")).lower() in written:  # a.jpg and a.png would share a.json
            image = image.with_name(f"{sample.id}_{image.name}")
        document = image.with_suffix(".json")
        written.add(str(document).lower())
        view.copy_image(sample, image)
        flags: dict[str, bool] = {}
        shapes: list[dict[str, Any]] = []
        for annotation in sample_annotations:
            if annotation.kind != "tag":
                shapes.append(annotation_to_shape(annotation, ctx))
                continue
            flags[annotation.label] = True  # image-level flags are LabelMe's tags
            if annotation.attributes:
                ctx.loss("tag attributes -> dropped (LabelMe image flags are plain booleans)")
        content = {
            "version": VERSION,
            "flags": flags,
            "shapes": shapes,
            "imagePath": image.name,
            "imageData": base64.b64encode(image.read_bytes()).decode("ascii") if embed else None,
            "imageHeight": sample.height,
            "imageWidth": sample.width,
        }
        document.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
