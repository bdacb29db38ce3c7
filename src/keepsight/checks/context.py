"""The one place checks read from: samples, annotations, label book, import problems, descriptors,
the same-object graph. Expensive inputs are computed once, on first use, and shared by every check.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads) and of its finished child processes
    (the describe stage's worker pool)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class StageTime:
    """Wall and CPU seconds of one shared stage, and the check that first asked for it (and so waited for it)."""

    wall: float = 0.0
    cpu: float = 0.0
    first_used_by: str | None = None
    detail: dict[str, Any] | None = None  # the stage's own breakdown, when it reports one

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"wall": round(self.wall, 3), "cpu": round(self.cpu, 3), "first_used_by": self.first_used_by}
        if self.detail:
            out["detail"] = self.detail
        return out


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
        self.current_check: str | None = None  # set by the runner, so a stage knows who waited for it
        self.stage_times: dict[str, StageTime] = {}
        self._memo: dict[Any, Any] = {}

    @contextmanager
    def _stage(self, name: str) -> Iterator[StageTime]:
        """Time a shared stage (its own seconds: call the stages it depends on before entering)."""
        record = self.stage_times.setdefault(name, StageTime(first_used_by=self.current_check))
        wall, cpu = time.perf_counter(), cpu_seconds()
        try:
            yield record
        finally:
            record.wall += time.perf_counter() - wall
            record.cpu += cpu_seconds() - cpu

    def stage_wall(self) -> float:
        """Wall seconds spent in shared stages so far (the runner subtracts them from a check's own time)."""
        return sum(r.wall for r in self.stage_times.values())

    def stage_cpu(self) -> float:
        return sum(r.cpu for r in self.stage_times.values())

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """A value computed once per audit and reused by every check that asks with the same key
        (e.g. the region features of ``labels.suspect_class`` and ``labels.class_modes``)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

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
        with self._stage("describe"):
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
        return DescriptorStore.for_dataset(self.ds)

    def description(self, digest: str) -> Description:
        return self._store.load(digest)

    # -- the same-object engine ------------------------------------------------------------------
    @cached_property
    def similarity(self) -> SimilarityResult:
        """Verified pairs (exact, near, region, hash, metadata) and object groups over all active samples."""
        _ = self.describe_failed
        with self._stage("similarity") as record:
            result = find_similar(self.ds, progress=self._stage_progress("verify"), workers=self._workers)
        record.detail = result.stats.get("stages")
        return result

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
