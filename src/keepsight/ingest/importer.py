"""Importing a folder or annotation file into a dataset: idempotent, resumable, transactional.

How it stays consistent whatever happens:

1. Every sample of a run is first *staged*: its blob is written (atomic, verified) and its
   rows are inserted with ``status='staged'`` in batches, each batch one transaction.
   Staged rows are invisible to every reader.
2. When the whole source has been read without a fatal error, one transaction flips the
   run's samples to ``active`` and merges the label book: the import appears at once.
3. A fatal error (fail-fast mode) discards what the run staged and the blobs only it
   stored: nothing is written. A kill -9 leaves the run ``running`` with its staged rows;
   the same import command finds it by its fingerprint and resumes where it stopped.
4. A path already active with the same bytes is skipped, so importing twice adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepsight.dataset import Dataset, current_user
from keepsight.errors import AnnotationError, ImageError, KeepsightError, MissingFileError
from keepsight.formats.base import ImportItem, ReadContext
from keepsight.formats.registry import detect_format, get_format
from keepsight.ingest.images import ImageInfo, inspect_image
from keepsight.ingest.validate import check_annotation, check_size
from keepsight.model.annotation import Annotation, normalize_split
from keepsight.model.labelbook import LabelBook
from keepsight.storage.blobs import digest_bytes
from keepsight.storage.catalog import queries, writes

Progress = Callable[[int, int | None], None]


@dataclass
class ImportReport:
    import_id: int
    format: str
    source: str
    added: int = 0
    unchanged: int = 0
    annotations: int = 0
    resumed_from: int = 0
    problems: list[KeepsightError] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id, "format": self.format, "source": self.source, "added": self.added,
            "unchanged": self.unchanged, "annotations": self.annotations, "resumed_from": self.resumed_from,
            "problems": [{"path": p.path, "element": p.element, "code": p.code, "reason": p.reason}
                         for p in self.problems],
            "classes": self.classes,
        }


@dataclass
class _Prepared:
    item: ImportItem
    data: bytes
    digest: str
    info: ImageInfo
    annotations: list[Annotation]


def import_path(
    ds: Dataset,
    path: Path | str,
    *,
    format: str | None = None,
    split: str | None = None,
    skip_bad: bool = False,
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    author: str | None = None,
) -> ImportReport:
    """Import ``path`` (auto-detected unless ``format`` is given) into ``ds``."""
    path = Path(path).resolve()
    if format is None:
        detection = detect_format(path)
        format_name = detection.format
    else:
        format_name = format
        detection = get_format(format_name).detect(path)
    root = detection.root or path
    fmt = get_format(format_name)
    split_override = normalize_split(split) if split else None
    author = author or current_user()
    opts = {"mask_threshold": ds.config.ingest.mask_threshold, **(options or {})}
    fingerprint = hashlib.sha256(json.dumps(
        {"source": str(root), "format": format_name, "split": split_override, "options": opts, "skip_bad": skip_bad},
        sort_keys=True, default=str).encode()).hexdigest()

    with ds.transaction() as conn:
        import_id = writes.find_unfinished_import(conn, fingerprint)
        resumed = import_id is not None
        if import_id is None:
            import_id = writes.start_import(conn, fingerprint=fingerprint, source=str(root), format_name=format_name,
                                            options={"split": split_override, "skip_bad": skip_bad, **opts},
                                            author=author)
        done_paths = writes.staged_paths(conn, import_id) if resumed else set()
        existing_book = queries.load_labelbook(conn)

    report = ImportReport(import_id=import_id, format=format_name, source=str(root), resumed_from=len(done_paths))
    ctx = ReadContext(skip_bad=skip_bad, options=opts)
    try:
        reading = fmt.read(root, ctx)
        declared = reading.labelbook if reading.classes_declared else None
        book = existing_book.merge(reading.labelbook)
        run = _Run(ds, import_id, ctx, report, declared, split_override, author, done_paths)
        run.stage(reading.items, total=reading.total, progress=progress)
        with ds.transaction() as conn:
            run.flush_problems(conn)
            for label, kind in writes.staged_label_kinds(conn, import_id):
                # A declared label book says which tools a class allows: a region drawn with another
                # tool is kept and reported by the audit (labels.kind_mismatch), never silently allowed.
                if declared is None or label not in declared.classes:
                    book.add(label, kind=kind)
            writes.commit_import(conn, import_id, book, counts=report.as_dict() | {"problems": len(report.problems)})
    except KeepsightError as exc:
        _discard(ds, import_id, exc.message)
        raise
    ds.write_labelbook_file(book)
    report.classes = book.names()
    return report


def _discard(ds: Dataset, import_id: int, reason: str) -> None:
    with ds.transaction() as conn:
        orphans = writes.discard_import(conn, import_id, reason)
    for digest in orphans:
        ds.blobs.delete(digest)


class _Run:
    """The staging loop of one import run."""

    def __init__(self, ds: Dataset, import_id: int, ctx: ReadContext, report: ImportReport,
                 declared: LabelBook | None, split_override: str | None, author: str, done_paths: set[str]) -> None:
        self.ds, self.import_id, self.ctx, self.report = ds, import_id, ctx, report
        self.declared, self.split_override, self.author = declared, split_override, author
        self.done_paths = done_paths
        self.seen: set[str] = set()
        self.pending_problems: list[KeepsightError] = []
        self.cfg = ds.config.ingest

    def flush_problems(self, conn) -> None:  # type: ignore[no-untyped-def]
        new = self.ctx.problems[len(self.report.problems):]
        for error in new:
            writes.record_problem(conn, self.import_id, error)
        self.report.problems.extend(new)

    def stage(self, items: Iterator[ImportItem], *, total: int | None, progress: Progress | None) -> None:
        workers = self.cfg.workers or os.cpu_count() or 1
        batch: list[_Prepared] = []
        done = 0
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in _bounded(pool, self._prepare, self._fresh(items), window=workers * 4):
                prepared = future.result()
                done += 1
                if prepared is not None:
                    batch.append(prepared)
                if len(batch) >= self.cfg.batch_size:
                    self._write(batch)
                    batch = []
                if progress:
                    progress(done + self.report.resumed_from, total)
        self._write(batch)

    def _fresh(self, items: Iterator[ImportItem]) -> Iterator[ImportItem]:
        """Items not staged by an earlier attempt of this run; refuses a path listed twice."""
        for item in items:
            if item.path in self.seen:
                self.ctx.problem(AnnotationError(f"image {item.path!r} is listed more than once",
                                             path=item.origin or item.path, element=item.element))
                continue
            self.seen.add(item.path)
            if item.path in self.done_paths:
                continue
            yield item

    def _prepare(self, item: ImportItem) -> _Prepared | None:
        """Read, hash and check one item (runs in a worker thread). None = skipped as bad."""
        try:
            data = self._read_bytes(item)
            info = inspect_image(data, name=item.path, max_pixels=self.cfg.max_pixels)
            check_size(item, info.width, info.height)
        except KeepsightError as exc:
            self.ctx.problem(exc)
            return None
        kept = []
        for index, annotation in enumerate(item.annotations):
            try:
                check_annotation(annotation, width=info.width, height=info.height,
                                 tolerance=self.cfg.out_of_image_tolerance, labelbook=self.declared,
                                 item=item, index=index)
            except AnnotationError as exc:
                self.ctx.problem(exc)
                continue
            kept.append(annotation)
        return _Prepared(item, data, digest_bytes(data), info, kept)

    @staticmethod
    def _read_bytes(item: ImportItem) -> bytes:
        if isinstance(item.source, bytes):
            return item.source
        try:
            return Path(item.source).read_bytes()
        except FileNotFoundError:
            where = f"{item.origin}: " if item.origin else ""
            raise MissingFileError(f"{where}the annotation points at an image that does not exist: {item.source}",
                                   path=item.path, element=item.element) from None
        except IsADirectoryError:
            raise ImageError(f"expected an image file, found a folder: {item.source}", path=item.path) from None

    def _write(self, batch: list[_Prepared]) -> None:
        if not batch and not self.ctx.problems[len(self.report.problems):]:
            return
        with self.ds.transaction() as conn:
            known = writes.known_samples(conn, [p.item.path for p in batch])
            for prepared in batch:
                item = prepared.item
                if item.path in known:
                    digest, status = known[item.path]
                    if digest == prepared.digest and status in ("active", "removed"):
                        self.report.unchanged += 1
                        continue
                    self.ctx.problem(ImageError(
                        f"already in the catalog ({status}) with different bytes; remove it before importing new "
                        "content under the same name", path=item.path))
                    continue
                blob = self.ds.blobs.put(prepared.data, prepared.digest)
                writes.ensure_blob(conn, blob.digest, blob.size, self.import_id)
                split = self.split_override or item.split or "unassigned"
                writes.stage_sample(
                    conn, import_id=self.import_id, path=item.path, digest=blob.digest, width=prepared.info.width,
                    height=prepared.info.height, mode=prepared.info.mode, image_format=prepared.info.format,
                    split=split, verdict=item.verdict, metadata=item.metadata, annotations_in=prepared.annotations,
                    author=self.author,
                )
                self.report.added += 1
                self.report.annotations += len(prepared.annotations)
            self.flush_problems(conn)


def _bounded(pool: ThreadPoolExecutor, fn: Callable[[ImportItem], _Prepared | None],
             items: Iterator[ImportItem], *, window: int) -> Iterator[Future[_Prepared | None]]:
    """``pool.map`` that keeps at most ``window`` items in flight (map would read them all)."""
    queue: deque[Future[_Prepared | None]] = deque()
    for item in items:
        queue.append(pool.submit(fn, item))
        if len(queue) >= window:
            yield queue.popleft()
    while queue:
        yield queue.popleft()
