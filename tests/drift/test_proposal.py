"""The next-version proposal of a retraining request: images to add, to re-annotate, to remove."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from keepsight.dataset import Dataset
from keepsight.drift.config import SchedulePolicy, SelectionConfig
from keepsight.drift.monitor import Monitor
from keepsight.drift.reference import build_reference
from keepsight.drift.report import load_session
from keepsight.ingest.importer import import_path
from tests.drift import synth
from tests.drift.conftest import small_config, write_training
from tests.drift.test_monitor import FakeClock

T0 = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)


def _monitor_then_fire(root: Path, images: list[bytes], predictions: list[dict] | None = None, *,
                       start: datetime = T0) -> dict:
    clock = FakeClock(start)  # the policy's last firing is saved with the dataset: each call starts later
    config = small_config(policies=[SchedulePolicy(name="hourly", every="1h", budget=5)],
                          selection=SelectionConfig(min_pool_for_removal=40))
    with Dataset.open(root) as ds:
        monitor = Monitor(ds, config=config, clock=clock)
        for k, data in enumerate(images):
            monitor.observe(data, predictions[k] if predictions else None, name=f"p{k:03d}.png")
        clock.advance(hours=1)
        monitor.tick()
        session = monitor.finish()
    assert session.requests
    return session.requests[-1].body["proposal"]  # the firing after every image was seen


def test_training_images_no_longer_seen_in_production_are_proposed_for_removal(tmp_path: Path) -> None:
    src = write_training(tmp_path / "src")
    rng = np.random.default_rng(8)
    (src / "ok").mkdir(exist_ok=True)
    for k in range(4):  # an old fixture that production no longer shows
        cv2.imwrite(str(src / "ok" / f"old_fixture_{k}.png"),
                    cv2.cvtColor(synth.capture(synth.world(2), rng), cv2.COLOR_RGB2BGR))
    with Dataset.init(tmp_path / "ds") as ds:
        import_path(ds, src, format="image_folder", split="train")
        build_reference(ds, config=small_config(), workers=1)
    images = [synth.png(synth.capture(synth.world(0), rng)) for _ in range(50)]
    proposal = _monitor_then_fire(tmp_path / "ds", images)
    assert sorted(Path(r["path"]).name for r in proposal["remove"]) == [f"old_fixture_{k}.png" for k in range(4)]
    assert all("unlike any of the last 50 production images" in r["reason"] for r in proposal["remove"])
    assert len(proposal["add"]) == 5 and proposal["base_version"] == "unversioned"


def test_no_removals_when_most_of_training_looks_obsolete(station: Path) -> None:
    rng = np.random.default_rng(9)
    moved = [synth.png(synth.capture(synth.world(0), rng, dx=40, angle=4)) for _ in range(50)]
    proposal = _monitor_then_fire(station, moved)
    assert proposal["remove"] == []
    assert any("rather than remove" in note for note in proposal["notes"])


def test_confident_predictions_that_contradict_a_look_alike_training_label_ask_for_re_annotation(
        station: Path) -> None:
    rng = np.random.default_rng(10)
    images = [synth.png(synth.capture(synth.world(0), rng)) for _ in range(20)]
    predictions = [{"label": "dent", "confidence": 0.98}] * 20  # a class training never used for this scene
    proposal = _monitor_then_fire(station, images, predictions)
    assert proposal["re_annotate"]
    for item in proposal["re_annotate"]:
        assert "dent" not in item["labels"] and item["predicted"] == "dent"
        assert item["reason"].startswith("looks like production image p0")
    unsure = _monitor_then_fire(station, images, [{"label": "dent", "confidence": 0.6}] * 20,
                                start=T0.replace(day=3))
    assert unsure["re_annotate"] == []  # an unsure model contradicts nobody


def test_a_running_session_can_be_reported(station: Path) -> None:
    rng = np.random.default_rng(12)
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=small_config())
        for k in range(30):
            monitor.observe(synth.png(synth.capture(synth.world(0), rng, gain=0.6 if k >= 10 else 1.0)),
                            name=f"{k}.png")
        live = load_session(ds, monitor.run.id)  # not finished: rebuilt from the window files
        assert live["summary"]["status"] == "running" and live["summary"]["windows"] == 2
        assert live["alarms"] and live["alarms"][0]["category"] == "illumination"
        monitor.finish()
        done = load_session(ds)
        assert done["run"] == monitor.run.id and json.dumps(done)
