"""kill -9 during a large import, then a rerun, gives the same catalog as an uninterrupted import."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keepsight import Dataset, dataset_info, import_path
from keepsight.storage.catalog import queries
from tests.conftest import write_image


def snapshot(ds: Dataset) -> list[tuple]:
    with ds.reading() as conn:
        return sorted(
            (s.path, s.blob, s.split, s.verdict, tuple(sorted((a.kind, a.label) for a in anns)))
            for s, anns in queries.iter_samples_with_annotations(conn)
        )


def staged_count(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM samples WHERE status = 'staged'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_kill_9_at_several_points_then_rerun_equals_uninterrupted_import(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(360):
        write_image(src / ("scratch", "chip", "OK")[i % 3] / f"img_{i:04d}.png", size=(96, 96), seed=i)
    reference = Dataset.init(tmp_path / "reference")
    import_path(reference, src)

    target = Dataset.init(tmp_path / "target")
    cfg = target.root / "keepsight.yaml"
    cfg.write_text(cfg.read_text().replace("batch_size: 200", "batch_size: 10").replace("workers: 0", "workers: 1"))
    db = target.root / ".keepsight" / "catalog.db"
    env = {**os.environ, "KEEPSIGHT_DATASET": str(target.root)}
    command = [sys.executable, "-m", "keepsight", "import", str(src)]

    kills = 0
    for threshold in (20, 120, 250):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and staged_count(db) < threshold and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        assert dataset_info(Dataset.open(target.root))["samples"] == 0, "a killed import must stay invisible"
    assert kills >= 2, "the import finished before it could be killed; make it larger"

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed after" in done.stderr
    final = Dataset.open(target.root)
    assert snapshot(final) == snapshot(reference)
    assert dataset_info(final)["samples"] == 360
