"""Writing a JSON-lines manifest: lossless for every annotation kind, attribute and sample field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keepsight.formats.base import ExportView, WriteContext, safe_join
from keepsight.formats.manifest.read import FORMAT_TAG, VERSION
from keepsight.model.annotation import Annotation, Sample

MANIFEST_JSONL = "keepsight-manifest.jsonl"


def write_manifest(view: ExportView, dest: Path, ctx: WriteContext) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT_TAG, "version": VERSION, "labelbook": view.labelbook.model_dump(mode="json")}
    with (dest / MANIFEST_JSONL).open("w", encoding="utf-8", newline="\n") as out:
        out.write(json.dumps(header, ensure_ascii=False) + "\n")
        for sample, annotations in view.samples():
            view.copy_image(sample, safe_join(dest, sample.path, element=f"sample {sample.id}"))
            out.write(json.dumps(record(sample, annotations), ensure_ascii=False) + "\n")


def record(sample: Sample, annotations: list[Annotation]) -> dict[str, Any]:
    """One manifest line; tags without attributes go to 'tags', everything else to 'annotations'."""
    data: dict[str, Any] = {
        "image": sample.path,
        "split": sample.split,
        "verdict": sample.verdict,
        "width": sample.width,
        "height": sample.height,
    }
    tags = [a.label for a in annotations if a.kind == "tag" and not a.attributes]
    others = [a for a in annotations if a.kind != "tag" or a.attributes]
    if tags:
        data["tags"] = tags
    if sample.metadata:
        data["metadata"] = sample.metadata
    if others:
        data["annotations"] = [_annotation(a) for a in others]
    return data


def _annotation(ann: Annotation) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": ann.kind, "label": ann.label, "geometry": ann.geometry.to_json()}
    if ann.attributes:
        entry["attributes"] = ann.attributes
    return entry
