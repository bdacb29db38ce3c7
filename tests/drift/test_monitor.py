"""The monitor end to end on a synthetic station: each planted change found and explained, a clean stream silent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keepsight.dataset import Dataset
from keepsight.drift.monitor import DriftSession, Monitor
from keepsight.drift.reference import build_reference, load_reference, reference_dir, reference_for
from keepsight.errors import DatasetError
from keepsight.ingest.importer import import_path
from keepsight.runs import list_runs
from tests.drift import synth
from tests.drift.conftest import small_config, write_training


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def run_stream(root: Path, n: int, *, seed: int = 7, world: int = 0, predictions: list[Any] | None = None,
               **change: float) -> DriftSession:
    rng = np.random.default_rng(seed)
    scene = synth.world(world)
    with Dataset.open(root) as ds:
        monitor = Monitor(ds, config=small_config())
        for k in range(n):
            monitor.observe(synth.png(synth.capture(scene, rng, **change)),
                            predictions[k] if predictions else None, name=f"img{k:03d}.png")
        return monitor.finish()


def test_a_clean_stream_raises_no_alarm(station: Path) -> None:
    session = run_stream(station, 60)
    assert len(session.windows) == 5 and all(w.status == "tested" for w in session.windows)
    assert session.alarms == [] and not any(w.drifted for w in session.windows)
    body = session.as_dict()
    assert body["summary"]["alarms"] == 0 and len(body["windows"][0]["tests"]) > 15


@pytest.mark.parametrize(("change", "category", "fragment"), [
    ({"gain": 0.6}, "illumination", "illumination: median brightness"),
    ({"dx": 14.0, "angle": -1.5}, "camera_moved", "camera moved: +14 px in x, -1.5 degrees"),
    ({"blur": 2.0}, "focus_or_wear", "focus or wear: sharpness -"),
    ({"world": 3}, "new_content", "new content: 100% of images unlike anything in training"),
])
def test_each_change_is_found_and_explained(station: Path, change: dict[str, float], category: str,
                                            fragment: str) -> None:
    session = run_stream(station, 30, **change)
    assert session.alarms, "the change raised no alarm"
    alarm = session.alarms[0]
    assert alarm.category == category and len(session.alarms) == 1
    assert fragment in alarm.message
    assert alarm.version == "unversioned" and alarm.examples and alarm.examples[0]["thumbnail"]
    assert all(w.category == category for w in session.windows)


def test_illumination_message_gives_the_numbers(station: Path) -> None:
    message = run_stream(station, 20, gain=0.6).alarms[0].message
    before, after = (float(x) for x in message.split("brightness ")[1].split(" (")[0].split(" -> "))
    assert after / before == pytest.approx(0.6, abs=0.05)
    assert "(-4" in message  # about -40%


def test_one_odd_image_does_not_raise_an_alarm(station: Path) -> None:
    rng = np.random.default_rng(3)
    scene, odd = synth.world(0), synth.world(4)
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=small_config())
        for k in range(40):
            monitor.observe(synth.png(synth.capture(odd if k == 15 else scene, rng)), name=f"{k}.png")
        session = monitor.finish()
    assert session.alarms == []
    novel = [o for w in session.windows for o in w.observations if o["index"] == 15]
    assert novel and novel[0]["novelty"] > 3 * max(o["novelty"] for o in session.windows[0].observations
                                                  if o["index"] != 15)


def test_prediction_drift_confidence_and_class_mix(station: Path) -> None:
    rng = np.random.default_rng(0)

    def preds(n: int, scratch_every: int, low: float, high: float) -> list[dict[str, Any]]:
        return [{"label": "scratch" if k % scratch_every == 0 else "ok", "confidence": float(rng.uniform(low, high))}
                for k in range(n)]

    steady = preds(20, 5, 0.9, 0.99)  # 20% scratch, sure
    unsure = preds(20, 5, 0.5, 0.7)  # same mix, unsure
    flipped = [{"label": "ok" if k % 10 == 0 else "scratch", "confidence": float(rng.uniform(0.9, 0.99))}
               for k in range(30)]  # 90% scratch, sure
    session = run_stream(station, 70, predictions=steady + unsure + flipped)
    categories = [w.category for w in session.windows]
    assert categories[0] is None  # the first full window of predictions is the baseline
    assert "model_confidence" in categories and "class_mix" in categories
    confidence = next(a for a in session.alarms if a.category == "model_confidence")
    assert "model confidence: median 0.9" in confidence.message
    mix = next(a for a in session.alarms if a.category == "class_mix")
    assert "scratch" in mix.message
    with Dataset.open(station) as ds:  # the baseline is kept for the next session
        assert (reference_dir(ds, "unversioned") / "predictions-baseline.json").exists()


def test_time_windows_follow_an_injected_clock(station: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 4, 6, 0, tzinfo=UTC))
    rng = np.random.default_rng(2)
    scene = synth.world(0)
    config = small_config().model_copy(update={"window": small_config().window.model_copy(update={"seconds": 600.0})})
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=config, clock=clock)
        for k in range(12):
            monitor.observe(synth.png(synth.capture(scene, rng)), name=f"a{k}.png")
            clock.advance(seconds=30)
        assert monitor.windows == []  # 6 minutes in: the 10-minute window is still open
        clock.advance(minutes=10)
        closed = monitor.tick()
        assert len(closed) == 1 and closed[0].images == 12 and closed[0].status == "tested"
        for k in range(3):
            monitor.observe(synth.png(synth.capture(scene, rng)), name=f"b{k}.png")
        session = monitor.finish()
    assert [w.images for w in session.windows] == [12, 3]
    assert session.windows[1].status == "too_few"


def test_python_api_accepts_arrays_paths_and_bytes_and_saves_a_run(station: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    scene = synth.world(0)
    path = tmp_path / "cam" / "frame.png"
    path.parent.mkdir()
    path.write_bytes(synth.png(synth.capture(scene, rng)))
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=small_config())
        monitor.observe(synth.capture(scene, rng))
        monitor.observe(path)
        monitor.observe(synth.png(synth.capture(scene, rng)), name="bytes.png")
        session = monitor.finish()
        [run] = list_runs(ds, "drift")
        assert run.id == session.run_id and run.status == "done"
        saved = json.loads((run.folder / "session.json").read_text())
        assert saved["images"] == 3 and saved["windows"][0]["status"] == "too_few"
        assert not (run.folder / "spool").exists()  # scratch copies are removed when the session ends
    names = [o["name"] for o in session.windows[0].observations]
    assert names[1] == "frame.png" and names[2] == "bytes.png" and len(names[0]) == 16
    with pytest.raises(DatasetError, match="finished"):
        monitor.observe(path)


def test_reference_is_stored_with_the_version_and_rebuilt_when_training_changes(station: Path, tmp_path: Path) -> None:
    with Dataset.open(station) as ds:
        profile = load_reference(ds)
        assert profile is not None and profile.version == "unversioned" and profile.scene_applicable
        folder = reference_dir(ds, "unversioned")
        assert {p.name for p in folder.iterdir()} >= {"reference.npz", "reference.json", "scene.png"}
        assert reference_for(ds, config=small_config()).created_at == profile.created_at  # still current
        import_path(ds, write_training(tmp_path / "more", seed=9, prefix="later"), format="image_folder", split="train")
        rebuilt = reference_for(ds, config=small_config())
        assert rebuilt.created_at != profile.created_at and len(rebuilt.digests) == 2 * len(profile.digests)


def test_a_reference_needs_training_images(tmp_path: Path) -> None:
    with Dataset.init(tmp_path / "empty") as ds, pytest.raises(DatasetError, match="training images"):
        build_reference(ds)


def test_alarms_name_the_dataset_version_and_the_models_trained_on_it(station: Path) -> None:
    from keepsight.versions.api import create_version
    from keepsight.versions.lineage import register_model

    with Dataset.open(station) as ds:
        version = create_version(ds, "first training set")
        register_model(ds, "scratch-detector", version=version, metrics={"map50": 0.91})
    session = run_stream(station, 20, gain=0.6)
    alarm = session.alarms[0]
    assert alarm.version == version
    assert [m["name"] for m in alarm.models] == ["scratch-detector"]
    assert session.reference["version"] == version
    assert f"since {version}" in run_stream(station, 20, dx=14.0).alarms[0].message
