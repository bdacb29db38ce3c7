"""Saved runs: a row in the catalog plus result files, readable after the dataset is reopened."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.runs import fingerprint, finish_run, list_runs, load_run, start_run


def test_run_round_trip(tmp_path: Path, catalog_url: str) -> None:
    with Dataset.init(tmp_path / "ds", catalog=catalog_url) as ds:
        run = start_run(ds, "audit", {"fail_on": "error"}, fingerprint=fingerprint(["a", 1]))
        run.write_json("findings.json", {"findings": [{"check": "x"}]})
        assert list_runs(ds, "audit")[0].status == "running"
        finish_run(ds, run, {"errors": 2})
    with Dataset.open(tmp_path / "ds") as ds:
        [saved] = list_runs(ds, "audit")
        assert saved.id == run.id and saved.status == "done" and saved.summary == {"errors": 2}
        assert saved.config == {"fail_on": "error"}
        assert load_run(ds, run.id).read_json("findings.json") == {"findings": [{"check": "x"}]}
        assert list_runs(ds, "curve") == []
        with pytest.raises(DatasetError, match="no run"):
            load_run(ds, "nope")
        with pytest.raises(DatasetError, match="has no other.json"):
            saved.read_json("other.json")


def test_fingerprint_depends_on_inputs_and_order() -> None:
    assert fingerprint([1, {"b": 2, "a": 1}]) == fingerprint([1, {"a": 1, "b": 2}])
    assert fingerprint([1, 2]) != fingerprint([2, 1])
