"""The one place checks read from: samples, annotations, label book, import problems, descriptors,
the same-object graph. Expensive inputs are computed once, on first use, and shared by every check.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import Description
from keepsight.descriptors.describe import Progress, describe_dataset
from keepsight.descriptors.store import DescriptorStore, load_stats
from keepsight.errors import ImageError
from keepsight.model.annotation import Annotation, Sample
from keepsight.model.geometry import REGION_KINDS
from keepsight.model.labelbook import LabelBook
from keepsight.similarity.api import SimilarityResult, find_similar
from keepsight.storage.catalog import queries

StageProgress = Callable[[str], Progress | None]  # stage name -> progress callback (or None)


class AuditContext:
    """Everything a check may read. Build it with :meth:`from_dataset`; properties load lazily."""

    def __init__(self, ds: Dataset, *, stage_progress: StageProgress | None = None, workers: int | None = None) -> None:
        self.ds = ds
        self._stage_progress = stage_progress or (lambda _stage: None)
        self._workers = workers
        with ds.reading() as conn:
            rows = list(queries.iter_samples_with_annotations(conn))
            self.labelbook: LabelBook = queries.load_labelbook(conn)
            self.problems: list[dict[str, Any]] = queries.list_problems(conn)
        self.samples: list[Sample] = [s for s, _ in rows]
        self.annotations: dict[int, list[Annotation]] = {s.id: anns for s, anns in rows}
        self.by_id: dict[int, Sample] = {s.id: s for s in self.samples}

    # -- cheap views --------------------------------------------------------------------------
    def regions(self, sample_id: int) -> list[Annotation]:
        """The sample's region annotations (everything but image-level tags)."""
        return [a for a in self.annotations.get(sample_id, []) if a.kind in REGION_KINDS]

    @cached_property
    def region_annotated(self) -> bool:
        """Whether the dataset's annotation style is regions (boxes, polygons, masks...) rather than tags only."""
        return any(self.regions(s.id) for s in self.samples)

    @cached_property
    def splits(self) -> dict[str, list[Sample]]:
        out: dict[str, list[Sample]] = {}
        for s in self.samples:
            out.setdefault(s.split, []).append(s)
        return out

    # -- descriptors (the describe-once stage) ---------------------------------------------------
    @cached_property
    def describe_failed(self) -> dict[str, str]:
        """Describe every blob not described yet; digest -> reason for those that could not be decoded."""
        report = describe_dataset(self.ds, self._stage_progress("describe"), workers=self._workers)
        return dict(report.failed)

    @cached_property
    def stats(self) -> dict[str, dict[str, Any]]:
        """Scalar image statistics per blob digest (brightness, contrast, sharpness, noise, hashes...)."""
        _ = self.describe_failed
        return load_stats(self.ds.engine)

    @cached_property
    def _store(self) -> DescriptorStore:
        _ = self.describe_failed
        return DescriptorStore(self.ds.root)

    def description(self, digest: str) -> Description:
        return self._store.load(digest)

    # -- the same-object engine ------------------------------------------------------------------
    @cached_property
    def similarity(self) -> SimilarityResult:
        """Verified pairs (exact, near, region, hash, metadata) and object groups over all active samples."""
        _ = self.describe_failed
        return find_similar(self.ds, progress=self._stage_progress("verify"), workers=self._workers)

    @cached_property
    def group_of(self) -> dict[int, str]:
        """sample id -> object group id; a sample alone is its own group (``solo:<id>``)."""
        out = {s.id: f"solo:{s.id}" for s in self.samples}
        for group in self.similarity.groups:
            for sid in group.samples:
                out[sid] = group.id
        return out

    # -- pixels, for the few checks that must look at them ---------------------------------------
    def image(self, sample: Sample, *, grayscale: bool = False) -> np.ndarray:
        """Decode one image (BGR or grayscale uint8). Only pixel-level checks (markings, retouching) call this."""
        data = self.ds.image_bytes(sample)
        flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
        if image is None:
            raise ImageError("image cannot be decoded", path=sample.path)
        return image
