"""Follow a drop folder: hand over each new image once it is completely written.

Polling (portable, works on network shares where inotify does not). A file is *ready* when
its size and modification time have not changed for ``settle_polls`` consecutive polls AND its
bytes decode completely (the importer's check, which walks the whole JPEG entropy stream), so
a camera that pauses mid-write is not read half-way. A file that stays undecodable for
``give_up_seconds`` after its last change is reported as bad and not retried. Hidden files and
the usual temporary names (``.part``, ``.tmp``, ``.crdownload``, ``~``) are ignored, so writers
that rename into place are seen once, under their final name.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keepsight.errors import ImageError
from keepsight.formats.base import IMAGE_EXTENSIONS
from keepsight.ingest.images import inspect_image

_TEMPORARY = (".part", ".tmp", ".crdownload", ".partial", "~")
_MAX_PIXELS = 400_000_000


@dataclass
class _Pending:
    size: int
    mtime_ns: int
    stable: int  # consecutive polls without change
    changed_at: float  # monotonic time of the last change


class FolderWatcher:
    def __init__(self, folder: Path | str, on_image: Callable[[Path, bytes], None], *,
                 on_bad: Callable[[Path, str], None] | None = None, on_poll: Callable[[], None] | None = None,
                 poll_seconds: float = 1.0, settle_polls: int = 2, give_up_seconds: float = 120.0,
                 recursive: bool = False, include_existing: bool = False, max_pixels: int = _MAX_PIXELS,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ImageError("watch folder does not exist or is not a folder", path=self.folder)
        self.on_image, self.on_bad, self.on_poll = on_image, on_bad, on_poll
        self.poll_seconds, self.settle_polls, self.give_up_seconds = poll_seconds, settle_polls, give_up_seconds
        self.recursive, self.max_pixels = recursive, max_pixels
        self.monotonic, self.sleep = monotonic, sleep
        self.pending: dict[Path, _Pending] = {}
        self.done: dict[Path, tuple[int, int]] = {}  # path -> (size, mtime) handed over or given up
        self.observed = 0
        self.bad = 0
        if not include_existing:
            for path, st in self._listing().items():
                self.done[path] = (st.st_size, st.st_mtime_ns)

    def _listing(self) -> dict[Path, os.stat_result]:
        out: dict[Path, os.stat_result] = {}
        walker = os.walk(self.folder) if self.recursive else [(str(self.folder), [], os.listdir(self.folder))]
        for root, dirs, names in walker:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if name.startswith(".") or name.endswith(_TEMPORARY):
                    continue
                if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                    continue
                path = Path(root) / name
                try:
                    st = path.stat()
                except FileNotFoundError:  # renamed or deleted between listing and stat
                    continue
                if os.path.isfile(path):
                    out[path] = st
        return out

    def poll_once(self) -> list[Path]:
        """One pass over the folder; returns the files handed over in this pass (oldest first)."""
        now = self.monotonic()
        handed: list[Path] = []
        listing = self._listing()
        for path in sorted(listing, key=lambda p: (listing[p].st_mtime_ns, p.name)):
            st = listing[path]
            key = (st.st_size, st.st_mtime_ns)
            if self.done.get(path) == key:
                continue
            seen = self.pending.get(path)
            if seen is None or (seen.size, seen.mtime_ns) != key:
                self.pending[path] = _Pending(st.st_size, st.st_mtime_ns, 0, now)
                continue
            seen.stable += 1
            if seen.stable < self.settle_polls or st.st_size == 0:
                continue
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                self.pending.pop(path, None)
                continue
            if len(data) != st.st_size:  # grew between stat and read: wait for the next poll
                seen.stable = 0
                continue
            try:
                inspect_image(data, name=str(path), max_pixels=self.max_pixels)
            except ImageError as exc:
                if now - seen.changed_at >= self.give_up_seconds:
                    self._finish(path, key)
                    self.bad += 1
                    if self.on_bad:
                        self.on_bad(path, exc.reason)
                continue  # still being written, most likely
            self._finish(path, key)
            self.observed += 1
            self.on_image(path, data)
            handed.append(path)
        for gone in set(self.pending) - set(listing):
            del self.pending[gone]
        if self.on_poll:
            self.on_poll()
        return handed

    def _finish(self, path: Path, key: tuple[int, int]) -> None:
        self.pending.pop(path, None)
        self.done[path] = key

    def run(self, *, stop: threading.Event | None = None, max_images: int | None = None,
            idle_seconds: float | None = None) -> int:
        """Poll until ``stop`` is set, ``max_images`` were handed over, or nothing arrived for ``idle_seconds``."""
        last_activity = self.monotonic()
        while not (stop is not None and stop.is_set()):
            if self.poll_once() or self.pending:
                last_activity = self.monotonic()
            if max_images is not None and self.observed >= max_images:
                break
            if idle_seconds is not None and self.monotonic() - last_activity >= idle_seconds:
                break
            if stop is not None:
                if stop.wait(self.poll_seconds):
                    break
            else:
                self.sleep(self.poll_seconds)
        return self.observed
