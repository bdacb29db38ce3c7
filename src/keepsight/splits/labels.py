"""What a split is stratified by: each sample's set of labels (several for multi-label images)."""

from __future__ import annotations

import json

from keepsight.model.annotation import Annotation, Sample

NO_LABEL = "(none)"


def stratify_labels(sample: Sample, annotations: list[Annotation], by: str) -> set[str]:
    """``class``: the classes it shows (an image with none counts as ``(none)``, e.g. OK images);
    ``verdict``: OK / NG; ``none``: one label for all; any other word: that metadata key's value."""
    if by == "none":
        return {"*"}
    if by == "class":
        return {a.label for a in annotations} or {NO_LABEL}
    if by == "verdict":
        return {sample.verdict or NO_LABEL}
    value = sample.metadata.get(by)
    if value in (None, ""):
        return {NO_LABEL}
    return {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}
