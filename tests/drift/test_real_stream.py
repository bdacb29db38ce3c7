"""Acceptance on real images (../shared/data, see streams.py): every change found with the right explanation
within a stated number of images, and a stable control stream silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.drift.monitor import Monitor
from keepsight.drift.reference import build_reference
from keepsight.ingest.importer import import_path
from tests.drift import streams

# Windows of 30 images every 10 (the defaults): a change is in the majority of a window after 20 images.
MAX_DELAY = 30


@pytest.fixture(scope="module")
def bsdata_station(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("bsdata")
    folder = streams.write_training_folder(shared_data, base / "train")
    with Dataset.init(base / "ds") as ds:
        import_path(ds, folder, format="image_folder", split="train")
        profile = build_reference(ds, workers=1)
        assert profile.scene_applicable  # a fixed camera: geometry is monitored
    return base / "ds"


def _run(root: Path, shared: Path, phases: list[streams.Phase], seed: int) -> dict:
    stream = streams.build_stream(shared, phases, seed=seed)
    with Dataset.open(root) as ds:
        monitor = Monitor(ds)
        for k, frame in enumerate(stream.frames):
            monitor.observe(streams.encode(frame), name=f"frame{k:04d}.jpg")
        session = monitor.finish()
    return streams.score([w.as_dict(observations=False) for w in session.windows], stream) | {
        "alarms": [a.category for a in session.alarms]}


@pytest.mark.slow
def test_each_real_change_is_detected_and_explained(bsdata_station: Path, shared_data: Path) -> None:
    result = _run(bsdata_station, shared_data, streams.DRIFT_PHASES, seed=0)
    for change in result["changes"]:
        assert change["detected"], f"{change['change']} was not reported as {change['expected']}"
        assert change["delay_images"] <= MAX_DELAY, change
        assert change["windows_inside_right"] == change["windows_inside"], change  # every window fully inside
    messages = {c["expected"]: c["message"] for c in result["changes"]}
    assert messages["illumination"].startswith("illumination: median brightness")
    assert "camera moved: +2" in messages["camera_moved"] and "-1." in messages["camera_moved"]
    assert messages["focus_or_wear"].startswith("focus or wear: sharpness -")
    assert messages["new_content"].startswith("new content:")
    assert result["false_alarm_windows"] == 0, result["false_alarms"]


@pytest.mark.slow
def test_a_stable_real_stream_raises_no_alarm(bsdata_station: Path, shared_data: Path) -> None:
    result = _run(bsdata_station, shared_data, streams.CONTROL_PHASES, seed=1)
    assert result["alarms"] == [] and result["false_alarm_windows"] == 0 and result["clean_windows"] == 28
