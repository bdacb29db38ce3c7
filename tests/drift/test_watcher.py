"""The drop-folder watcher: files arriving while it runs, half-written ones only read once complete."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from keepsight.drift.watcher import FolderWatcher
from keepsight.errors import ImageError
from tests.drift import synth


def _image(seed: int) -> bytes:
    return synth.png(synth.capture(synth.world(0), np.random.default_rng(seed)))


def _jpeg(seed: int) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", synth.capture(synth.world(0), np.random.default_rng(seed)))
    assert ok
    return buf.tobytes()


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_half_written_file_waits_until_it_decodes(tmp_path: Path) -> None:
    clock = Clock()
    seen: list[tuple[str, bytes]] = []
    bad: list[str] = []
    watcher = FolderWatcher(tmp_path, lambda p, d: seen.append((p.name, d)), on_bad=lambda p, r: bad.append(p.name),
                            settle_polls=2, give_up_seconds=60, monotonic=clock)
    data = _jpeg(1)
    (tmp_path / "a.jpg").write_bytes(data[: len(data) // 2])  # the camera stalls half-way
    for _ in range(10):  # its size is stable for many polls, but it does not decode yet
        clock.t += 1
        assert watcher.poll_once() == []
    with (tmp_path / "a.jpg").open("ab") as f:
        f.write(data[len(data) // 2:])
    handed = []
    for _ in range(4):
        clock.t += 1
        handed += watcher.poll_once()
    assert [p.name for p in handed] == ["a.jpg"] and seen == [("a.jpg", data)] and bad == []
    clock.t += 1
    assert watcher.poll_once() == []  # handed over once


def test_a_file_that_never_completes_is_reported_once(tmp_path: Path) -> None:
    clock = Clock()
    bad: list[tuple[str, str]] = []
    watcher = FolderWatcher(tmp_path, lambda p, d: pytest.fail("a broken file was handed over"),
                            on_bad=lambda p, r: bad.append((p.name, r)), settle_polls=1, give_up_seconds=30,
                            monotonic=clock)
    (tmp_path / "broken.png").write_bytes(_image(2)[:300])
    for _ in range(40):
        clock.t += 1
        watcher.poll_once()
    assert len(bad) == 1 and bad[0][0] == "broken.png" and "truncated" in bad[0][1]


def test_existing_temporary_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(_image(3))
    seen: list[str] = []
    watcher = FolderWatcher(tmp_path, lambda p, d: seen.append(p.name), settle_polls=1)
    for name in ("x.png.part", ".hidden.png", "notes.txt", "y.tmp"):
        (tmp_path / name).write_bytes(_image(4))
    for _ in range(3):
        watcher.poll_once()
    assert seen == []
    (tmp_path / "x.png.part").rename(tmp_path / "x.png")  # a writer that renames into place
    for _ in range(3):
        watcher.poll_once()
    assert seen == ["x.png"]
    everything: list[str] = []
    again = FolderWatcher(tmp_path, lambda p, d: everything.append(p.name), settle_polls=1, include_existing=True)
    for _ in range(3):
        again.poll_once()
    assert sorted(everything) == ["old.png", "x.png"]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        FolderWatcher(tmp_path / "nope", lambda p, d: None)


def test_files_arriving_while_the_watcher_runs(tmp_path: Path) -> None:
    """A real thread polls every 20 ms while another writes: atomically renamed files, slowly streamed files
    with pauses far longer than the settle time, and one file that stays truncated."""
    (tmp_path / "before.png").write_bytes(_image(0))
    got: dict[str, list[bytes]] = {}
    bad: list[str] = []
    lock = threading.Lock()

    def on_image(path: Path, data: bytes) -> None:
        with lock:
            got.setdefault(path.name, []).append(data)

    watcher = FolderWatcher(tmp_path, on_image, on_bad=lambda p, r: bad.append(p.name), poll_seconds=0.02,
                            settle_polls=2, give_up_seconds=1.0)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, kwargs={"stop": stop}, daemon=True)
    thread.start()
    expected: dict[str, bytes] = {}
    try:
        for k in range(4):  # renamed into place
            data = _image(10 + k)
            (tmp_path / f"r{k}.png.part").write_bytes(data)
            (tmp_path / f"r{k}.png.part").rename(tmp_path / f"r{k}.png")
            expected[f"r{k}.png"] = data
        for k in range(3):  # streamed in chunks, pausing ~10 polls between chunks
            data = _jpeg(20 + k)
            with (tmp_path / f"s{k}.jpg").open("wb") as f:
                for start in range(0, len(data), len(data) // 3 + 1):
                    f.write(data[start:start + len(data) // 3 + 1])
                    f.flush()
                    time.sleep(0.2)
            expected[f"s{k}.jpg"] = data
        (tmp_path / "stuck.png").write_bytes(_image(30)[:500])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if set(got) >= set(expected) and bad:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert set(got) == set(expected)  # nothing from before the start, nothing broken
    for name, data in expected.items():
        assert got[name] == [data], f"{name} was read half-written or more than once"
    assert bad == ["stuck.png"]
