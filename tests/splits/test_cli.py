"""The split, test, version, log, model, remove and gc commands through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from keepsight.cli.app import app
from tests.splits.build import write_records

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_split_version_log_model_round(tmp_path: Path) -> None:
    box = {"kind": "box", "geometry": [2, 2, 20, 20]}
    records = [{"image": f"p{i:02d}_{k}.png", "annotations": [box | {"label": "dent" if i % 2 else "scratch"}],
                "metadata": {"part_serial": f"S{i}"}} for i in range(20) for k in range(2)]
    write_records(tmp_path / "src", records)
    ds = str(tmp_path / "ds")
    assert invoke("init", ds).exit_code == 0
    assert invoke("-d", ds, "import", str(tmp_path / "src")).exit_code == 0

    result = invoke("-d", ds, "split", "--ratios", "60/20/20", "--group", "part_serial", "--seed", "4",
                    "--freeze-test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"] == {"train": 24, "val": 8, "test": 8} and report["straddling_after"] == 0
    assert report["frozen_test"] == 8 and len(report["moves"]) == 40
    shown = invoke("-d", ds, "split", "--repair", "--group", "part_serial")
    assert shown.exit_code == 0 and "moved 0 sample(s)" in shown.output
    assert "frozen test set: 8 samples" in invoke("-d", ds, "test", "show").output
    bad = invoke("-d", ds, "test", "release", "p00_0.png")
    assert bad.exit_code == 2 and "reason" in bad.output

    assert invoke("-d", ds, "version", "create", "-m", "baseline").exit_code == 0
    removed = invoke("-d", ds, "remove", "p01_1.png", "--reason", "defect at edge")
    assert removed.exit_code == 0
    assert invoke("-d", ds, "version", "create", "-m", "without p01_1").exit_code == 0
    listed = json.loads(invoke("-d", ds, "version", "list", "--json").stdout)
    assert [v["label"] for v in listed] == ["v1", "v2"] and listed[1]["samples"] == 39
    diff = json.loads(invoke("-d", ds, "version", "diff", "v1", "v2", "--json").stdout)
    assert diff["removed"] == ["p01_1.png"] and diff["counts"]["samples_removed"] == 1
    text = invoke("-d", ds, "version", "diff", "v1", "v2").output
    assert "samples removed 1" in text and "p01_1.png" in text

    log = json.loads(invoke("-d", ds, "log", "--sample", "p01_1.png", "--json").stdout)
    assert log[0]["action"] == "sample.remove" and log[0]["reason"] == "defect at edge"
    assert "defect at edge" in invoke("-d", ds, "log", "--action", "sample").output

    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"map50": 0.77}), encoding="utf-8")
    assert invoke("-d", ds, "model", "register", "det-1", "--version", "v2", "--metrics", str(metrics)).exit_code == 0
    models = json.loads(invoke("-d", ds, "model", "list", "--json").stdout)
    assert models[0]["name"] == "det-1" and models[0]["metrics"] == {"map50": 0.77}
    missing = invoke("-d", ds, "model", "register", "det-2", "--version", "v2", "--metrics", str(tmp_path / "x.json"))
    assert missing.exit_code == 2 and "metrics file not found" in missing.output

    exported = invoke("-d", ds, "version", "export", "v1", str(tmp_path / "yolo"), "--format", "yolo")
    assert exported.exit_code == 0, exported.output
    data_yaml = (tmp_path / "yolo" / "data.yaml").read_text(encoding="utf-8")
    assert "train: images/train" in data_yaml and "test: images/test" in data_yaml
    assert len((tmp_path / "yolo" / "test.txt").read_text(encoding="utf-8").split()) == 8

    gc = invoke("-d", ds, "gc", "--dry-run")
    assert gc.exit_code == 0 and "would delete 0 blob(s)" in gc.output and "1 kept" in gc.output
