"""compute_curve end to end on small generated image datasets with a known curve shape."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from keepsight.curves.items import CurveItem
from keepsight.curves.plot import plot_curve, save_plot
from keepsight.curves.runner import CurveResult, compute_curve
from keepsight.curves.trainers.base import Evaluation
from keepsight.curves.trainers.classify import FeatureClassifier
from keepsight.errors import DatasetError
from keepsight.runs import list_runs, load_run
from tests.curves import synth


class RecordingClassifier(FeatureClassifier):
    """The built-in classifier, also recording what each point trained and tested on."""

    def evaluate(self, train: Sequence[CurveItem], test: Sequence[CurveItem], *, seed: int, workdir: Path,
                 metric: str) -> Evaluation:
        ev = super().evaluate(train, test, seed=seed, workdir=workdir, metric=metric)
        ev.details.update(train_ids=[i.sample_id for i in train], test_ids=[i.sample_id for i in test])
        return ev


def test_easy_classes_saturate_with_whole_groups_and_an_untouched_test_set(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src")
    for k in range(6):  # the same object captured twice: exact copies must travel together
        shutil.copyfile(src / "train" / "dark" / f"train_{2 * k:03d}.png", src / "train" / "dark" / f"copy_{k}.png")
    with synth.imported(tmp_path, src) as ds:
        split_of = {s.id: s.split for s in ds.samples()}
        path_of = {s.id: s.path for s in ds.samples()}
        result = compute_curve(ds, trainer=RecordingClassifier(), target=0.9)
        assert result.task == "classify" and result.labels == "class" and result.metric == "balanced_accuracy"
        assert result.pool["train"] == 54 and result.pool["train_groups"] == 48 and result.pool["test"] == 24
        assert result.sizes == [13, 27, 54] and len(result.points) == 9
        test_ids = set(result.points[0]["details"]["test_ids"])
        assert {split_of[i] for i in test_ids} == {"test"} and len(test_ids) == 24
        for point in result.points:
            train_ids = set(point["details"]["train_ids"])
            assert not train_ids & test_ids and set(point["details"]["test_ids"]) == test_ids
            names = {path_of[i].rsplit("/", 1)[1] for i in train_ids}
            for k in range(6):
                assert (f"train_{2 * k:03d}.png" in names) == (f"copy_{k}.png" in names)
            assert set(point["class_counts"]) == {"dark", "bright"}
        rec = result.recommendation
        assert rec["current_score"] == 1.0 and rec["verdict"] == "saturated"
        assert "already reached" in rec["target"]["message"]
        [run] = list_runs(ds, "curve")
        assert run.status == "done" and run.id == result.run_id and run.summary["verdict"] == "saturated"
        saved = CurveResult.from_dict(load_run(ds, run.id).read_json("result.json"))
        assert saved.recommendation == json.loads(json.dumps(rec))
        assert (run.folder / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_anomaly_on_varied_good_images_keeps_improving(tmp_path: Path) -> None:
    src = synth.anomaly_images(tmp_path / "src", varied=True, good_train=160)
    with synth.imported(tmp_path, src) as ds:
        result = compute_curve(ds, task="anomaly", use_groups=False, target=0.99)
    assert result.metric == "auroc" and result.pool["test_classes"] == {"NG": 20, "OK": 20}
    assert result.pool["excluded"] == {}
    means = [s["test_mean"] for s in result.summary]
    assert means[-1] > means[0] + 0.15 and means[-1] > 0.85
    rec = result.recommendation
    assert rec["verdict"] == "improving" and rec["predicted"]["2x"]["value"] > rec["current_score"] + 0.005
    assert rec["predicted"]["4x"]["value"] >= rec["predicted"]["2x"]["value"]
    assert {c["name"] for c in rec["per_class"]} == {"scratch", "spot"}
    assert result.points[0]["train"] is None  # an anomaly model has no training score
    assert rec["target"]["reachable"] is False or rec["target"]["size"] > 160


def test_anomaly_on_uniform_good_images_saturates_at_once(tmp_path: Path) -> None:
    src = synth.anomaly_images(tmp_path / "src", varied=False, good_train=32)
    with synth.imported(tmp_path, src) as ds:
        for trainer in ("anomaly-knn", "anomaly-template", "anomaly-global"):
            result = compute_curve(ds, task="anomaly", trainer=trainer, use_groups=False)
            assert result.summary[0]["test_mean"] > 0.95, trainer
            assert result.recommendation["verdict"] == "saturated", trainer


def test_an_interrupted_curve_resumes_where_it_stopped(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=32, test=12)
    with synth.imported(tmp_path, src) as ds:
        seen: list[tuple[str, int, int]] = []

        def stop_after_two(stage: str, done: int, total: int) -> None:
            seen.append((stage, done, total))
            if stage == "train" and done == 2:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the curve

        with pytest.raises(KeyboardInterrupt):
            compute_curve(ds, use_groups=False, repeats=2, progress=stop_after_two)
        [run] = list_runs(ds, "curve")
        assert run.status == "interrupted" and len(list((run.folder / "points").glob("*.json"))) == 2
        assert ("train", 0, 6) in seen
        resumed = compute_curve(ds, use_groups=False, repeats=2)
        assert resumed.run_id == run.id and resumed.reused_points == 2 and len(resumed.points) == 6
        assert list_runs(ds, "curve")[0].status == "done"
        again = compute_curve(ds, use_groups=False, repeats=2)
        assert again.run_id != run.id and again.reused_points == 6 and again.points == resumed.points
        changed = compute_curve(ds, use_groups=False, repeats=1)  # another fingerprint: nothing reused
        assert changed.reused_points == 0 and len(changed.points) == 3


def test_parallel_workers_give_the_same_points(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=32, test=12)
    with synth.imported(tmp_path, src) as ds:
        one = compute_curve(ds, use_groups=False, workers=1)
        shutil.rmtree(ds.root / ".keepsight" / "runs")  # the runs table still lists the first: only its points go
        two = compute_curve(ds, use_groups=False, workers=2)
    strip = [{k: v for k, v in p.items() if k not in ("seconds",)} for p in one.points]
    assert strip == [{k: v for k, v in p.items() if k not in ("seconds",)} for p in two.points]
    assert two.reused_points == 0


def test_plots_png_and_svg(tmp_path: Path) -> None:
    result = CurveResult.from_dict(_result_body())
    assert plot_curve(result)[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_plot(result, tmp_path / "c.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    with pytest.raises(DatasetError, match=r"\.png or \.svg"):
        save_plot(result, tmp_path / "c.jpg")


def _result_body() -> dict[str, Any]:
    points = [{"size": n, "repeat": 0, "n": n, "train": {"score": 1.0}, "test": {"score": 1 - 2 * n ** -0.5,
                                                                                   "per_class": {"a": 0.9, "b": 0.8}}}
              for n in (20, 40, 80)]
    summary = [{"size": n, "n": n, "test_mean": 1 - 2 * n ** -0.5, "test_std": 0.0, "train_mean": 1.0, "repeats": 1,
                "per_class": {"a": 0.9, "b": 0.8}} for n in (20, 40, 80)]
    return {"task": "classify", "trainer": "features", "metric": "accuracy", "labels": "class", "target": 0.9,
            "sizes": [20, 40, 80], "repeats": 1, "points": points, "summary": summary,
            "fit": {"a": 2.0, "b": 0.5, "c": 0.0, "asymptote": 1.0},
            "fit_curve": [{"n": n, "value": 1 - 2 * n ** -0.5, "low": 0.5, "high": 1.0} for n in (20, 80, 320)],
            "recommendation": {"verdict": "improving"}, "pool": {}}


def test_clear_errors_for_unusable_setups(tmp_path: Path) -> None:
    src = synth.easy_classes(tmp_path / "src", train=24, test=8)
    shutil.rmtree(src / "test")
    with synth.imported(tmp_path, src) as ds:
        with pytest.raises(DatasetError, match="no test split.*--holdout"):
            compute_curve(ds, use_groups=False)
        with pytest.raises(DatasetError, match="no built-in detect trainer.*--command"):
            compute_curve(ds, task="detect")
        with pytest.raises(DatasetError, match="unknown trainer 'svm'"):
            compute_curve(ds, trainer="svm")
        with pytest.raises(DatasetError, match="is for the anomaly task"):
            compute_curve(ds, trainer="anomaly-knn")
        with pytest.raises(DatasetError, match="metric 'auroc' does not apply"):
            compute_curve(ds, metric="auroc")
        with pytest.raises(DatasetError, match="OK and NG images in the test set"):
            compute_curve(ds, task="anomaly", holdout=0.25, use_groups=False)
        held = compute_curve(ds, holdout=0.25, use_groups=False, sizes="6,9,18")
        assert held.pool["holdout"] == 0.25 and held.pool["test"] == 6 and held.pool["train"] == 18
        assert held.sizes == [6, 9, 18]
