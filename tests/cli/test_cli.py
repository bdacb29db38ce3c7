"""The CLI through Typer's runner: commands work, bad input gives one line and an exit code."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from keepsight.cli.app import app
from keepsight.demo import make_demo

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_demo_init_import_info_export_round(tmp_path: Path) -> None:
    make_demo(tmp_path / "demo", n_images=12)
    ds = str(tmp_path / "ds")
    assert invoke("init", ds).exit_code == 0
    again = invoke("init", ds)
    assert again.exit_code == 2 and "already exists" in again.output
    assert invoke("init", ds, "--exist-ok").exit_code == 0
    result = invoke("-d", ds, "import", str(tmp_path / "demo"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["format"] == "manifest" and report["added"] == 14
    info = json.loads(invoke("-d", ds, "info", "--json").stdout)
    assert info["samples"] == 14
    # 12 plates cycle scratch (polygon), spot (mask), chip (box), OK; the copy repeats plate 1 (a mask).
    assert (info["annotations"]["polygon"], info["annotations"]["mask"], info["annotations"]["box"]) == (3, 4, 3)
    exported = invoke("-d", ds, "export", str(tmp_path / "yolo"), "--format", "yolo")
    assert exported.exit_code == 0
    assert "warning" in exported.output  # masks and OK/NG verdicts do not fit YOLO segment: counted, not silent
    strict = invoke("-d", ds, "export", str(tmp_path / "yolo2"), "--format", "yolo", "--strict")
    assert strict.exit_code == 4 and "would lose information" in strict.output
    assert not (tmp_path / "yolo2").exists()
    assert invoke("-d", ds, "export", str(tmp_path / "m"), "--format", "manifest").exit_code == 0


def test_bad_input_is_one_line_with_an_exit_code(tmp_path: Path) -> None:
    result = invoke("-d", str(tmp_path / "nope"), "info")
    assert result.exit_code == 2 and "not a keepsight dataset" in result.output
    assert "Traceback" not in result.output
    assert invoke("init", str(tmp_path / "ds")).exit_code == 0
    (tmp_path / "empty").mkdir()
    result = invoke("-d", str(tmp_path / "ds"), "import", str(tmp_path / "empty"))
    assert result.exit_code == 4 and "no importer recognises this path" in result.output
    result = invoke("-d", str(tmp_path / "ds"), "export", str(tmp_path / "x"), "--format", "nosuch")
    assert result.exit_code == 4 and "unknown format 'nosuch'" in result.output


def test_detect_explains_rejections(tmp_path: Path) -> None:
    make_demo(tmp_path / "demo", n_images=4)
    result = invoke("detect", str(tmp_path / "demo"))
    assert result.exit_code == 0 and result.output.startswith("manifest")
    assert "coco: rejected" in result.output
    (tmp_path / "empty").mkdir()
    assert invoke("detect", str(tmp_path / "empty")).exit_code == 4


def test_similar_finds_the_planted_copy_and_recapture(tmp_path: Path) -> None:
    make_demo(tmp_path / "demo", n_images=12)
    ds = str(tmp_path / "ds")
    invoke("init", ds)
    invoke("-d", ds, "import", str(tmp_path / "demo"))
    result = invoke("-d", ds, "similar", "--json")
    assert result.exit_code == 0, result.output
    pairs = {(p["path_a"], p["path_b"]): p["reason"] for p in json.loads(result.stdout)["pairs"]}
    # The copy shares the part serial too; metadata is the strongest evidence, so it names the edge.
    assert pairs[("images/plate_001.png", "images/plate_001_copy.png")] in {"exact", "metadata:part_serial"}
    assert pairs[("images/plate_004.png", "images/plate_004_recapture.png")] == "near"  # rotated 90 and re-lit
    one = invoke("-d", ds, "similar", str(tmp_path / "demo" / "images" / "plate_001.png"), "--json")
    assert {m["path"] for m in json.loads(one.stdout)} >= {"images/plate_001.png", "images/plate_001_copy.png"}
