"""``keepsight drift ...`` and ``keepsight monitor --watch`` through Typer's runner."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from keepsight.cli.app import app
from tests.drift import synth

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def write_stream(folder: Path, n: int, *, seed: int = 5, start: int = 0, **change: float) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(start, start + n):
        path = folder / f"img{k:03d}.png"
        path.write_bytes(synth.png(synth.capture(synth.world(0), rng, **change)))
        paths.append(path)
    return paths


def add_policies(root: Path, policies: list[dict[str, object]]) -> None:
    path = root / "keepsight.yaml"
    config = yaml.safe_load(path.read_text())
    config["drift"]["policies"] = policies
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_reference_command(station: Path) -> None:
    result = invoke("-d", str(station), "drift", "reference")
    assert result.exit_code == 0, result.output
    assert "reference of version unversioned: 40 training images; scene applicable" in result.stdout
    summary = json.loads(invoke("-d", str(station), "drift", "reference", "--json").stdout)
    assert summary["images"] == 40 and summary["scene"]["applicable"]


def test_check_writes_json_and_html_and_records_requests(station: Path, tmp_path: Path) -> None:
    add_policies(station, [{"name": "on-drift", "kind": "drift", "fire_after": 2, "rearm_after": 2, "budget": 4}])
    prod = tmp_path / "prod"
    write_stream(prod, 20)
    write_stream(prod, 30, start=20, seed=6, gain=0.6)
    predictions = tmp_path / "preds.json"
    predictions.write_text(json.dumps({f"img{k:03d}.png": {"label": "ok", "confidence": 0.95} for k in range(50)}))
    out_json, out_html = tmp_path / "drift.json", tmp_path / "drift.html"
    result = invoke("-d", str(station), "drift", "check", str(prod), "--window", "20", "--step", "10",
                    "--predictions", str(predictions), "--json", str(out_json), "--html", str(out_html),
                    "--fail-on-alarm")
    assert result.exit_code == 1, result.output  # an alarm with --fail-on-alarm
    assert "illumination: median brightness" in result.stdout
    body = json.loads(out_json.read_text())
    assert body["summary"]["categories"] == ["illumination"]
    alarm = body["alarms"][0]
    assert alarm["category"] == "illumination" and alarm["version"] == "unversioned" and alarm["first_image"] == 20
    window = body["windows"][-1]
    assert window["drifted"] and window["category"] == "illumination"
    tests = {(t["family"], t["feature"], t["test"]) for t in window["tests"]}
    assert {("statistic", "brightness", "ks"), ("statistic", "brightness", "psi"), ("embedding", "embedding", "mmd"),
            ("novelty", "embedding", "exceedance"), ("geometry", "moved", "share"),
            ("prediction", "confidence", "ks"), ("prediction", "class", "chi2")} <= tests
    assert all(0.0 <= t["p_value"] <= 1.0 for t in window["tests"])
    html = out_html.read_text()
    assert html.count("data:image/png;base64,") >= 2  # the scene and the time series
    assert "data:image/jpeg;base64," in html and "illumination: median brightness" in html
    assert len(body["requests"]) == 1
    listed = invoke("-d", str(station), "drift", "requests")
    assert listed.exit_code == 0 and "on-drift" in listed.stdout and "1 retraining requests" in listed.stdout
    request_id = body["requests"][0]["id"]
    shown = json.loads(invoke("-d", str(station), "drift", "requests", request_id).stdout)
    assert shown["proposal"]["add"] and len(shown["proposal"]["add"]) == 4
    again = tmp_path / "again.html"
    assert invoke("-d", str(station), "drift", "report", body["run"], "--html", str(again)).exit_code == 0
    assert "illumination: median brightness" in again.read_text()
    state = invoke("-d", str(station), "drift", "policies")
    assert "on-drift (drift)" in state.stdout and "fired=1" in state.stdout


def test_check_of_a_clean_batch_passes_the_gate(station: Path, tmp_path: Path) -> None:
    prod = tmp_path / "prod"
    write_stream(prod, 30)
    (prod / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    result = invoke("-d", str(station), "drift", "check", str(prod), "--window", "20", "--json", "-",
                    "--fail-on-alarm")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["alarms"] == [] and body["images"] == 30
    assert body["skipped"][0]["name"] == "broken.png"


def test_check_rejects_bad_options(station: Path, tmp_path: Path) -> None:
    assert invoke("-d", str(station), "drift", "check", str(tmp_path / "nope")).exit_code == 2
    bad = invoke("-d", str(station), "drift", "check", str(tmp_path), "--window", "5", "--step", "9")
    assert bad.exit_code == 2


def test_monitor_follows_a_folder_while_images_arrive(station: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_stream(drop, 3, seed=1)  # already there: not observed
    images = [synth.png(synth.capture(synth.world(0), np.random.default_rng(100 + k), gain=1.0 if k < 15 else 0.6))
              for k in range(40)]

    def camera() -> None:
        time.sleep(0.3)
        for k, data in enumerate(images):
            path = drop / f"live{k:03d}.png"
            if k % 5 == 0:  # every fifth file is written in two parts with a pause
                with path.open("wb") as f:
                    f.write(data[: len(data) // 2])
                    f.flush()
                    time.sleep(0.25)
                    f.write(data[len(data) // 2:])
            else:
                path.write_bytes(data)
            time.sleep(0.02)

    writer = threading.Thread(target=camera, daemon=True)
    writer.start()
    out_json = tmp_path / "monitor.json"
    result = invoke("-d", str(station), "monitor", "--watch", str(drop), "--poll", "0.05", "--window", "20",
                    "--step", "10", "--max-images", "40", "--json", str(out_json), "--html", str(tmp_path / "m.html"))
    writer.join(30)
    assert result.exit_code == 0, result.output
    body = json.loads(out_json.read_text())
    assert body["images"] == 40 and body["skipped"] == []
    assert body["alarms"] and body["alarms"][0]["category"] == "illumination"
    assert "ALARM 1" in result.output
    assert (tmp_path / "m.html").read_text().count("data:image/png;base64,") >= 2
