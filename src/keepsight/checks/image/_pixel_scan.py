"""Run a pixel analysis over every image of a dataset: decode once, in worker processes, in bounded batches.

The two pixel checks (image.markings, image.retouched) are the only checks that decode images.
Each distinct blob is read by the main process (the blob store may be S3) and handed as bytes to
worker processes (``keepsight.parallel``), at most ``4 x workers`` at a time so 10^5 images never sit in memory
together. A worker decodes with OpenCV, at 1/2, 1/4 or 1/8 scale when the image is at least that
much larger than the analysis needs (JPEG decodes those from the DCT directly), and runs the
analysis; boxes come back in original-image pixels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from keepsight.checks.context import AuditContext
from keepsight.errors import ImageError
from keepsight.model.annotation import Sample
from keepsight.parallel import map_in_processes

Analysis = Callable[[np.ndarray], list[dict[str, Any]]]  # image -> findings with "box" in its own pixels
_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}
_INLINE_BELOW = 16  # fewer images than this: a process pool costs more than it saves


def decode(data: bytes, longest: int, work_side: int) -> tuple[np.ndarray, float]:
    """(BGR pixels, original / decoded size) decoded no larger than twice ``work_side`` needs."""
    factor = 1
    while factor < 8 and longest / (factor * 2) >= work_side:
        factor *= 2
    image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED[factor])
    if image is None:
        raise ImageError("image cannot be decoded")
    return image, longest / max(image.shape[:2])


def _rescale(value: Any, factor: float) -> Any:
    return [round(v * factor) for v in value] if isinstance(value, list | tuple) else value


def analyse_bytes(data: bytes, longest: int, work_side: int, analysis: Analysis) -> list[dict[str, Any]] | None:
    """Decode and analyse one image (None: OpenCV cannot decode it); keys ending in ``box`` are scaled back."""
    cv2.setNumThreads(1)
    try:
        image, factor = decode(data, longest, work_side)
    except ImageError:
        return None
    out = analysis(image)
    for item in out:
        for key in list(item):
            if key.endswith("box"):
                item[key] = _rescale(item[key], factor)
    return out


def scan(ctx: AuditContext, analysis: Analysis, *, work_side: int, workers: int = 0,
         ) -> Iterator[tuple[list[Sample], list[dict[str, Any]] | None]]:
    """(samples sharing one blob, what ``analysis`` found on it, None if OpenCV cannot decode it) per blob.

    ``analysis`` must be a module-level function (it is sent to worker processes)."""
    failed = ctx.describe_failed
    by_blob: dict[str, list[Sample]] = {}
    for s in ctx.samples:
        if s.blob not in failed:
            by_blob.setdefault(s.blob, []).append(s)
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(by_blob) < _INLINE_BELOW:
        for samples in by_blob.values():
            first = samples[0]
            yield samples, analyse_bytes(ctx.ds.image_bytes(first), max(first.width, first.height), work_side, analysis)
        return
    groups = list(by_blob.values())
    tasks = ((ctx.ds.image_bytes(samples[0]), max(samples[0].width, samples[0].height), work_side, analysis)
             for samples in groups)  # lazy: map_in_processes reads at most 4 x workers images ahead
    yield from zip(groups, map_in_processes(_analyse_task, tasks, workers=workers), strict=True)


def _analyse_task(task: tuple[bytes, int, int, Analysis]) -> list[dict[str, Any]] | None:
    return analyse_bytes(*task)
