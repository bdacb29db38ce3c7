"""``keepsight audit`` through Typer's runner: import beside the source, reports, the gate, re-runs, bad paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keepsight.cli.app import app
from keepsight.dataset import Dataset
from keepsight.runs import list_runs
from tests.audit.build import textured, write_manifest

runner = CliRunner()
FAST = ["--only", "split.exact_leak", "--only", "labels.unknown_class"]  # checks that need no descriptors


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def _leaky(folder: Path) -> Path:
    same = textured(5)
    return write_manifest(folder, [
        {"image": "a.png", "split": "train", "pixels": same},
        {"image": "b.png", "split": "test", "pixels": same},
        {"image": "c.png", "split": "train", "seed": 1},
    ])


def _clean(folder: Path) -> Path:
    return write_manifest(folder, [{"image": "a.png", "split": "train", "seed": 1},
                                   {"image": "b.png", "split": "test", "seed": 2}])


def test_folder_is_imported_beside_and_reports_are_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _leaky(tmp_path / "line3")
    monkeypatch.chdir(tmp_path)
    result = invoke("audit", str(src), "--json", "out.json", "--html", "out.html", "--fail-on", "warning", *FAST)
    assert result.exit_code == 1, result.output
    dataset = tmp_path / "line3.keepsight"
    assert (dataset / "keepsight.yaml").is_file() and not (src / "keepsight.yaml").exists()
    assert not any(p.name == "keepsight.yaml" for p in src.rglob("*"))  # nothing written into the source
    report = json.loads((tmp_path / "out.json").read_text())
    assert set(report) == {"findings", "summary"}
    [finding] = report["findings"]
    assert finding["check"] == "split.exact_leak" and sorted(finding["paths"]) == ["a.png", "b.png"]
    assert [c["check"] for c in report["summary"]["checks"]] == ["split.exact_leak", "labels.unknown_class"]
    assert all(c["seconds"] >= 0 and c["cpu_seconds"] >= 0 for c in report["summary"]["checks"])
    assert report["summary"]["seconds"] > 0 and report["summary"]["cpu_seconds"] > 0
    assert "cpu" in result.output and "total" in result.output  # the terminal table shows both times
    html = (tmp_path / "out.html").read_text()
    assert 'id="check-split.exact_leak"' in html and "data:image/jpeg;base64," in html
    assert "Audit FAILED" in result.output and "a.png" in result.output  # the terminal names the files
    with Dataset.open(dataset) as ds:
        [run] = list_runs(ds, "audit")
        assert run.summary["findings"]["error"] == 1
        assert (run.folder / "findings.json").is_file() and (run.folder / "findings.parquet").is_file()


def test_gate_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    clean = invoke("audit", str(_clean(tmp_path / "clean")), "--fail-on", "warning", *FAST)
    assert clean.exit_code == 0, clean.output
    assert "Audit passed" in clean.output
    leaky = _leaky(tmp_path / "leaky")
    assert invoke("audit", str(leaky), *FAST).exit_code == 1  # default gate: error
    never = invoke("audit", str(leaky), "--fail-on", "never", *FAST)
    assert never.exit_code == 0 and "Gate off" in never.output
    bad = invoke("audit", str(leaky), "--fail-on", "sometimes", *FAST)
    assert bad.exit_code == 2 and "--fail-on" in bad.output


def test_only_and_skip_choose_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = _leaky(tmp_path / "src")
    result = invoke("audit", str(src), "--json", "-", *FAST, "--skip", "split.exact_leak")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [c["check"] for c in report["summary"]["checks"]] == ["labels.unknown_class"] and report["findings"] == []
    unknown = invoke("audit", str(src), "--only", "no.such_check")
    assert unknown.exit_code == 2 and "unknown check id(s): no.such_check" in unknown.output


def test_rerun_reuses_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src = _leaky(tmp_path / "src")
    first = invoke("audit", str(src), *FAST)
    assert "3 images added, 0 already present" in first.output
    second = invoke("audit", str(src), *FAST)
    assert "0 images added, 3 already present" in second.output and second.exit_code == first.exit_code == 1
    # The dataset folder itself can be audited too: nothing is imported then.
    third = invoke("audit", str(tmp_path / "src.keepsight"), *FAST)
    assert third.exit_code == 1 and "added" not in third.output
    with Dataset.open(tmp_path / "src.keepsight") as ds:
        assert len(list(ds.samples())) == 3 and len(list_runs(ds, "audit")) == 3


def test_missing_path_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("audit", str(tmp_path / "no-such-folder"))
    assert result.exit_code == 2
    assert "does not exist" in result.output and "no-such-folder" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "no-such-folder.keepsight").exists()


def test_json_to_stdout_is_pure_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("audit", str(_leaky(tmp_path / "src")), "--json", "-", *FAST)
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # the summary table and messages went to stderr, or nowhere
    assert report["summary"]["findings"]["error"] == 1 and report["findings"][0]["check"] == "split.exact_leak"
    assert "Audit FAILED" in result.stderr
