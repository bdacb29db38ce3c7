"""The describe-once pass over a dataset: parallel, resumable, keyed by blob digest."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from sqlalchemy import delete, insert

from keepsight.dataset import Dataset
from keepsight.descriptors.compute import DESCRIBE_VERSION, describe_bytes
from keepsight.descriptors.store import DescriptorStore, described_digests, descriptor_stats, stats_row
from keepsight.errors import ImageError

Progress = Callable[[int, int], None]
_BATCH = 200


@dataclass
class DescribeReport:
    total: int = 0  # distinct blobs of the active samples
    computed: int = 0
    skipped: int = 0  # already described (resume / incremental)
    failed: dict[str, str] = field(default_factory=dict)  # digest -> reason


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; nested threads only fight


def _describe_task(task: tuple[str, str | bytes, str]) -> tuple[str, dict[str, object] | None, str | None]:
    digest, source, root = task
    try:
        data = Path(source).read_bytes() if isinstance(source, str) else source
        desc = describe_bytes(digest, data)
    except (ImageError, OSError) as exc:
        return digest, None, str(exc)
    DescriptorStore(Path(root)).save(desc)
    return digest, stats_row(desc), None


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
            rebuild.append(stats_row(store.load(digest)))  # killed between the file and the row
        else:
            todo.append(digest)
    _record(ds, rebuild)
    return todo


def describe_digests(
    ds: Dataset, digests: Iterable[str], *, progress: Progress | None = None, workers: int | None = None
) -> DescribeReport:
    digests = list(dict.fromkeys(digests))
    todo = pending_digests(ds, digests)
    report = DescribeReport(total=len(digests), skipped=len(digests) - len(todo))
    if progress:
        progress(report.skipped, report.total)
    if not todo:
        return report
    workers = workers or ds.config.ingest.workers or os.cpu_count() or 1
    tasks = _tasks(ds, todo)
    rows: list[dict[str, object]] = []
    done = report.skipped

    def consume(results: Iterator[tuple[str, dict[str, object] | None, str | None]]) -> None:
        nonlocal done
        for digest, row, error in results:
            done += 1
            if row is None:
                report.failed[digest] = error or "unknown error"
            else:
                rows.append(row)
                report.computed += 1
            if len(rows) >= _BATCH:
                _record(ds, rows)
                rows.clear()
            if progress:
                progress(done, report.total)

    if workers <= 1 or len(todo) < 8:
        consume(_describe_task(t) for t in tasks)
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
            consume(pool.imap_unordered(_describe_task, tasks, chunksize=4))
    _record(ds, rows)
    return report


def _tasks(ds: Dataset, digests: list[str]) -> Iterator[tuple[str, str | bytes, str]]:
    root = str(ds.root)
    for digest in digests:
        local = ds.blobs.local_path(digest)
        yield digest, (str(local) if local is not None else ds.blobs.get(digest)), root


def describe_dataset(ds: Dataset, progress: Progress | None = None, *, workers: int | None = None) -> DescribeReport:
    """Describe every active sample's blob that is not described yet."""
    return describe_digests(ds, (s.blob for s in ds.samples()), progress=progress, workers=workers)
