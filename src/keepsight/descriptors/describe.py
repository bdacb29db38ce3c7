"""The describe-once pass over a dataset: parallel, resumable, keyed by blob digest."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
from sqlalchemy import delete, insert

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import DESCRIBE_VERSION, Description, describe_bytes
from keepsight.descriptors.store import (
    CorruptDescription,
    DescriptorStore,
    described_digests,
    descriptor_stats,
    stats_row,
)
from keepsight.errors import ImageError
from keepsight.parallel import map_in_processes

Progress = Callable[[int, int], None]
_BATCH = 200  # catalog rows per transaction
_FILE_BATCH = 16  # descriptions per worker task: written as one batch


@dataclass
class DescribeReport:
    total: int = 0  # distinct blobs of the active samples
    computed: int = 0
    skipped: int = 0  # already described (resume / incremental)
    failed: dict[str, str] = field(default_factory=dict)  # digest -> reason


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; nested threads only fight


# digest, stats row or None, error or None, the description itself (when the caller keeps them)
Result = tuple[str, dict[str, object] | None, str | None, Description | None]
Task = tuple[list[tuple[str, str | bytes]], str, bool]  # (digest, file path or bytes) pairs, dataset root, keep


def _describe_batch(task: Task) -> list[Result]:
    """Describe a batch of blobs and write their files as one batch."""
    items, root, keep = task
    out: list[Result] = []
    done: list[Description] = []
    for digest, source in items:
        try:
            data = Path(source).read_bytes() if isinstance(source, str) else source
            desc = describe_bytes(digest, data)
        except (ImageError, OSError) as exc:
            out.append((digest, None, str(exc), None))
            continue
        done.append(desc)
    DescriptorStore(Path(root)).save_many(done)
    # kept descriptions go back without their thumbnails: the later stages read keypoints and descriptors
    return out + [(d.digest, stats_row(d), None, replace(d, thumbnail=b"") if keep else None) for d in done]


def _record(ds: Dataset, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    with ds.transaction() as conn:
        conn.execute(delete(descriptor_stats).where(descriptor_stats.c.digest.in_([r["digest"] for r in rows])))
        conn.execute(insert(descriptor_stats), rows)


def pending_digests(ds: Dataset, digests: Iterable[str]) -> list[str]:
    """Digests without a current description (neither a table row nor a current .npz)."""
    done = described_digests(ds.engine)
    store = DescriptorStore(ds.root)
    todo: list[str] = []
    rebuild: list[dict[str, object]] = []
    for digest in dict.fromkeys(digests):
        if digest in done:
            continue
        if store.has(digest) and store.version(digest) == DESCRIBE_VERSION:
            try:
                rebuild.append(stats_row(store.load(digest)))  # killed between the file and the row
                continue
            except CorruptDescription:  # renamed but never written in full (files are not fsynced)
                pass
        todo.append(digest)
    _record(ds, rebuild)
    return todo


def describe_digests(
    ds: Dataset,
    digests: Iterable[str],
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    on_described: Callable[[Description], None] | None = None,
) -> DescribeReport:
    """Describe the digests without a current description. ``on_described`` receives each new
    description (without its thumbnail): a caller that reads them next need not load the files again."""
    digests = list(dict.fromkeys(digests))
    todo = pending_digests(ds, digests)
    report = DescribeReport(total=len(digests), skipped=len(digests) - len(todo))
    if progress:
        progress(report.skipped, report.total)
    if not todo:
        return report
    workers = workers or ds.config.ingest.workers or os.cpu_count() or 1
    tasks = _tasks(ds, todo, _FILE_BATCH, on_described is not None)
    rows: list[dict[str, object]] = []
    done = report.skipped

    def consume(batches: Iterator[list[Result]]) -> None:
        nonlocal done
        for results in batches:
            for digest, row, error, desc in results:
                done += 1
                if row is None:
                    report.failed[digest] = error or "unknown error"
                else:
                    rows.append(row)
                    report.computed += 1
                    if desc is not None and on_described is not None:
                        on_described(desc)
            if len(rows) >= _BATCH:
                _record(ds, rows)
                rows.clear()
            if progress:
                progress(done, report.total)

    if workers <= 1 or len(todo) < 2 * _FILE_BATCH:
        consume(_describe_batch(t) for t in tasks)
    else:
        consume(map_in_processes(_describe_batch, tasks, workers=workers, initializer=_init_worker))
    _record(ds, rows)
    return report


def _tasks(ds: Dataset, digests: list[str], size: int, keep: bool) -> Iterator[Task]:
    root = str(ds.root)
    for start in range(0, len(digests), size):
        items: list[tuple[str, str | bytes]] = []
        for digest in digests[start : start + size]:
            local = ds.blobs.local_path(digest)
            items.append((digest, str(local) if local is not None else ds.blobs.get(digest)))
        yield items, root, keep


def describe_dataset(ds: Dataset, progress: Progress | None = None, *, workers: int | None = None) -> DescribeReport:
    """Describe every active sample's blob that is not described yet."""
    return describe_digests(ds, (s.blob for s in ds.samples()), progress=progress, workers=workers)
