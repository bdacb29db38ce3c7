"""Retraining policies with an injected clock: schedule, annotated count, drift with hysteresis; and what firing does."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keepsight.dataset import Dataset
from keepsight.drift.analysis import WindowResult
from keepsight.drift.config import AnnotatedPolicy, DriftConfig, DriftPolicy, SchedulePolicy
from keepsight.drift.explain import Explanation
from keepsight.drift.monitor import Monitor
from keepsight.drift.policies import PolicyEngine
from keepsight.drift.requests import evaluate_due, list_requests, load_request
from keepsight.errors import DatasetError
from keepsight.ingest.importer import import_path
from tests.drift import synth
from tests.drift.conftest import small_config, write_training
from tests.drift.test_monitor import FakeClock

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def window(index: int, category: str | None) -> WindowResult:
    w = WindowResult(index=index, first=index * 10, last=index * 10 + 9, start=T0, end=T0, images=10)
    if category:
        w.explanations = [Explanation(category, f"{category} happened", {})]
    return w


def test_schedule_fires_every_period_and_once_after_a_long_outage(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    with Dataset.init(tmp_path / "ds") as ds:
        engine = PolicyEngine(ds, [SchedulePolicy(name="weekly", every="7d")], clock=clock)
        clock.advance(days=6, hours=23)
        assert engine.on_tick() == []
        clock.advance(hours=1)
        [fired] = engine.on_tick()
        assert fired.policy.name == "weekly" and fired.at == T0.replace(day=12) and "every 7d" in fired.reason
        assert engine.on_tick() == []  # not twice for the same period
        clock.advance(days=30)  # the monitor was down for a month
        assert len(engine.on_tick()) == 1
        assert engine.on_tick() == []
        restarted = PolicyEngine(ds, [SchedulePolicy(name="weekly", every="7d")], clock=clock)
        assert restarted.on_tick() == []  # the last firing survived the restart
        assert restarted.describe()[0]["fired"] == 2


def test_annotated_count_fires_after_n_new_annotated_images(tmp_path: Path, catalog_url: str) -> None:
    clock = FakeClock(T0)
    count = 5
    with Dataset.init(tmp_path / "ds", catalog=catalog_url) as ds:
        import_path(ds, write_training(tmp_path / "before"), format="image_folder", split="train")
        engine = PolicyEngine(ds, [AnnotatedPolicy(name="labelled", count=count)], clock=clock)
        assert engine.on_tick() == []  # what was annotated before the policy existed does not count
        src = tmp_path / "new"
        for k in range(3):  # class folder -> a tag annotation
            (src / "dent").mkdir(parents=True, exist_ok=True)
            (src / "dent" / f"d{k}.png").write_bytes(synth.png(synth.capture(synth.world(0), np.random.default_rng(k))))
        import_path(ds, src, format="image_folder")
        assert engine.on_tick() == []  # 3 < 5
        for k in range(2):  # verdict folder -> a verdict, also an annotation of the image
            (src / "OK").mkdir(exist_ok=True)
            (src / "OK" / f"g{k}.png").write_bytes(synth.png(synth.capture(synth.world(0), np.random.default_rng(9 + k))))
        import_path(ds, src, format="image_folder")
        [fired] = engine.on_tick()
        assert "5 newly annotated images" in fired.reason and fired.trigger == {"annotated": 5}
        assert engine.on_tick() == []  # counted from the new watermark


def test_drift_policy_needs_k_consecutive_windows_and_m_clean_ones_to_rearm(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    policy = DriftPolicy(name="on-drift", fire_after=3, rearm_after=2)
    with Dataset.init(tmp_path / "ds") as ds:
        engine = PolicyEngine(ds, [policy], clock=clock)
        seq = ["illumination", None, "illumination", "illumination", None,  # an odd window, then a short run
               "illumination", "illumination", "illumination",  # fires here (3 in a row)
               "illumination", "illumination", None, "illumination", "illumination", "illumination",  # 1 clean: disarmed
               None, None,  # rearmed
               "camera_moved", "camera_moved", "camera_moved"]  # fires again
        fired_at = [k for k, cat in enumerate(seq) if engine.on_window(window(k, cat))]
        assert fired_at == [7, 18]
        too_few = window(99, "illumination")
        too_few.status = "too_few"
        assert engine.on_window(too_few) == []


def test_drift_policy_can_watch_chosen_categories_only(tmp_path: Path) -> None:
    policy = DriftPolicy(name="camera", fire_after=2, rearm_after=1, categories=["camera_moved"])
    with Dataset.init(tmp_path / "ds") as ds:
        engine = PolicyEngine(ds, [policy], clock=FakeClock(T0))
        assert [k for k, cat in enumerate(["illumination"] * 4 + ["camera_moved"] * 2)
                if engine.on_window(window(k, cat))] == [5]


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(202)
        self.end_headers()
        self.wfile.write(b"queued")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Any:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/retrain", _Hook.received
    finally:
        server.shutdown()
        server.server_close()


def test_a_fired_drift_policy_records_a_request_selects_images_and_runs_its_actions(
        station: Path, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = webhook
    marker = tmp_path / "command-ran.json"
    command = [sys.executable, "-c",
               "import json, os, sys; json.dump({k: os.environ[k] for k in ('KEEPSIGHT_REQUEST_ID', "
               "'KEEPSIGHT_REQUEST_FILE', 'KEEPSIGHT_POLICY')}, open(sys.argv[1], 'w'))", str(marker)]
    policy = DriftPolicy(name="on-drift", fire_after=2, rearm_after=2, budget=6, webhook=url, command=command)
    config: DriftConfig = small_config(policies=[policy])
    rng = np.random.default_rng(11)
    scene = synth.world(0)
    drop = tmp_path / "drop"
    drop.mkdir()
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=config, clock=FakeClock(T0))
        for k in range(60):
            path = drop / f"f{k:03d}.png"
            path.write_bytes(synth.png(synth.capture(scene, rng, gain=1.0 if k < 20 else 0.55)))
            monitor.observe(path)
        session = monitor.finish()
        assert len(session.requests) == 1  # the drift lasted 3 windows but fires once
        request = session.requests[0]
        assert [r.id for r in list_requests(ds)] == [request.id]
        assert load_request(ds, request.id).body == request.body
        with pytest.raises(DatasetError, match="not a retraining request"):
            load_request(ds, session.run_id)
    body = request.body
    assert body["policy"] == "on-drift" and body["kind"] == "drift" and "illumination" in body["reason"]
    assert body["dataset_version"] == "unversioned" and body["alarms"][0]["category"] == "illumination"
    add = body["proposal"]["add"]
    assert len(add) == 6 and all(a["drifted"] for a in add)
    assert all(int(a["name"][1:4]) >= 10 for a in add)  # from the drifted windows
    assert all(Path(a["copy"]).is_file() for a in add)  # copied next to the request
    assert body["proposal"]["remove"] == [] and body["proposal"]["notes"]
    actions = {a["kind"]: a for a in body["actions"]}
    assert actions["webhook"]["ok"] and actions["webhook"]["detail"] == "HTTP 202"
    assert actions["command"]["ok"], actions["command"]
    assert received and received[0]["request_id"] == request.id and received[0]["proposal"]["add"]
    env = json.loads(marker.read_text())
    assert env["KEEPSIGHT_REQUEST_ID"] == request.id and env["KEEPSIGHT_POLICY"] == "on-drift"
    assert json.loads(Path(env["KEEPSIGHT_REQUEST_FILE"]).read_text())["request_id"] == request.id


def test_failed_actions_are_recorded_not_raised(station: Path) -> None:
    clock = FakeClock(T0)
    policy = SchedulePolicy(name="daily", every="1d", budget=3, webhook="http://127.0.0.1:9/nothing-listens",
                            command=["/nonexistent/train.sh"], timeout=5)
    with Dataset.open(station) as ds:
        monitor = Monitor(ds, config=small_config(policies=[policy]), clock=clock)
        rng = np.random.default_rng(1)
        for k in range(5):
            monitor.observe(synth.png(synth.capture(synth.world(0), rng)), name=f"{k}.png")
        clock.advance(days=1)
        monitor.tick()
        session = monitor.finish()
    [request] = session.requests
    assert not request.ok
    details = {a["kind"]: a["detail"] for a in request.body["actions"]}
    assert details["command"].startswith("program not found") and details["webhook"].startswith("unreachable")
    assert len(request.body["proposal"]["add"]) == 3  # schedule: the most diverse recent images


def test_due_policies_fire_without_a_monitor(station: Path) -> None:
    clock = FakeClock(T0)
    config = small_config(policies=[SchedulePolicy(name="weekly", every="7d", budget=0)])
    with Dataset.open(station) as ds:
        assert evaluate_due(ds, clock=clock, config=config) == []
        clock.advance(days=8)
        [request] = evaluate_due(ds, clock=clock, config=config)
        assert request.body["proposal"]["add"] == [] and list_requests(ds)[0].id == request.id


def test_policy_config_is_validated() -> None:
    with pytest.raises(ValueError, match="duration"):
        SchedulePolicy(name="x", every="weekly")
    with pytest.raises(ValueError, match="unknown drift categories"):
        DriftPolicy(name="x", categories=["lighting"])
    with pytest.raises(ValueError, match="http"):
        DriftPolicy(name="x", webhook="ftp://host/x")
    with pytest.raises(ValueError, match="unique"):
        DriftConfig(policies=[SchedulePolicy(name="a", every="1d"), AnnotatedPolicy(name="a", count=3)])
