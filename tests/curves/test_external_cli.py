"""``keepsight curve`` through the CLI, and the external-trainer contract end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from keepsight.cli.app import app
from keepsight.dataset import Dataset
from keepsight.runs import list_runs
from tests.curves import synth

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "nearest_centroid.py"
BOX_PRIOR = Path(__file__).with_name("box_prior.py")
runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_the_shipped_example_trainer_runs_as_a_command(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=32, test=12)
    synth.imported(tmp_path, src).close()
    ds = str(tmp_path / "ds")
    command = f"{{python}} {EXAMPLE} --manifest {{manifest}} --data {{data}} --out {{out}}"
    result = invoke("-d", ds, "curve", "--command", command, "--no-groups", "--repeats", "2",
                    "--json", str(tmp_path / "c.json"), "--plot", str(tmp_path / "c.png"), "--target", "0.95")
    assert result.exit_code == 0, result.output
    body = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert body["trainer"] == "command" and len(body["points"]) == 6
    for point in body["points"]:
        assert point["test"]["score"] == 1.0 and point["train"]["score"] == 1.0  # predictions for both splits
        assert point["details"]["export_format"] == "image_folder"
    assert body["recommendation"]["verdict"] == "saturated"
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "saturated" in result.output and "run " in result.output
    work = next((tmp_path / "ds" / ".keepsight" / "runs" / "curve").glob("*/work/32-r0"))
    assert (work / "out" / "predictions.jsonl").exists() and not (work / "data").exists()  # export removed after use
    manifest = [json.loads(line) for line in (work / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["split"] for r in manifest} == {"train", "test"}
    assert all(r["label"] is None for r in manifest if r["split"] == "test")  # test labels are not handed over


def test_a_failing_or_silent_command_is_a_clear_error(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=16, test=8)
    synth.imported(tmp_path, src).close()
    ds = str(tmp_path / "ds")
    failed = invoke("-d", ds, "curve", "--no-groups", "--command", "echo training went wrong; exit 3")
    assert failed.exit_code == 2
    assert "exited with status 3" in failed.output and "training went wrong" in failed.output
    with Dataset.open(tmp_path / "ds") as opened:
        assert list_runs(opened, "curve")[0].status == "failed"
    silent = invoke("-d", ds, "curve", "--no-groups", "--command", "true")
    assert silent.exit_code == 2 and "wrote no predictions.jsonl or metrics.json" in silent.output
    unknown = invoke("-d", ds, "curve", "--no-groups", "--command", "echo {nope}")
    assert unknown.exit_code == 2 and "uses {nope}" in unknown.output
    partial = invoke("-d", ds, "curve", "--no-groups", "--command",
                     f"{sys.executable} -c \"open('out/predictions.jsonl', 'w').write('{{{{\\\"id\\\": 1, \\\"label\\\": \\\"dark\\\"}}}}')\"")
    assert partial.exit_code == 2 and "test image(s) have no prediction" in partial.output, partial.output


def test_detection_through_a_command_reading_the_yolo_export(tmp_path: Path) -> None:
    src = synth.boxes_coco(tmp_path / "src")
    synth.imported(tmp_path, src).close()
    ds = str(tmp_path / "ds")
    assert invoke("-d", ds, "curve", "--task", "detect", "--no-groups").exit_code == 2
    command = f"{{python}} {BOX_PRIOR} --data {{data}} --out {{out}}"
    result = invoke("-d", ds, "curve", "--task", "detect", "--no-groups", "--command", command, "--sizes", "6,12,24",
                    "--json", "-")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["task"] == "detect" and body["metric"] == "score" and body["pool"]["test"] == 8
    assert all(p["details"]["export_format"] == "yolo" for p in body["points"])
    assert min(p["test"]["score"] for p in body["points"]) >= 0.75
    assert body["points"][0]["train"] is None


def test_cli_without_a_test_split_points_to_holdout(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=24, test=8)
    import shutil

    shutil.rmtree(src / "test")
    synth.imported(tmp_path, src).close()
    ds = str(tmp_path / "ds")
    missing = invoke("-d", ds, "curve", "--no-groups")
    assert missing.exit_code == 2 and "--holdout" in missing.output
    held = invoke("-d", ds, "curve", "--no-groups", "--holdout", "0.25", "--sizes", "6,9,18", "--json", "-")
    assert held.exit_code == 0, held.output
    assert json.loads(held.stdout)["pool"]["holdout"] == 0.25
    bad = invoke("-d", ds, "curve", "--task", "nope")
    assert bad.exit_code == 2 and "--task must be one of" in bad.output
