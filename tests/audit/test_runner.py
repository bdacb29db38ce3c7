"""The audit runner: checks share one context, results are saved as a run, and the gate follows severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepsight.audit.config import AuditConfig
from keepsight.audit.runner import build_checks, run_audit
from keepsight.checks.registry import BUILTIN_CHECKS, get_check
from keepsight.errors import DatasetError
from keepsight.runs import list_runs
from tests.audit.build import dataset_from, textured


def _leaky(tmp_path: Path, catalog: str | None = None):  # type: ignore[no-untyped-def]
    same = textured(7)
    return dataset_from(tmp_path, [
        {"image": "a.png", "split": "train", "pixels": same},
        {"image": "b.png", "split": "test", "pixels": same},
        {"image": "c.png", "split": "train", "seed": 3},
    ], catalog=catalog)


def test_planted_leak_fails_the_gate_and_is_saved(tmp_path: Path, catalog_url: str) -> None:
    with _leaky(tmp_path, catalog_url) as ds:
        report = run_audit(ds, only=["split.exact_leak"])
        [finding] = report.findings
        assert finding.check == "split.exact_leak" and finding.severity == "error"
        assert sorted(finding.paths) == ["a.png", "b.png"]
        assert report.exit_code("error") == 1 and report.exit_code("never") == 0
        [run] = list_runs(ds, "audit")
        assert run.status == "done" and run.summary["findings"]["error"] == 1
        saved = run.read_json("findings.json")
        assert saved["findings"][0]["paths"] == finding.paths
        assert (run.folder / "findings.parquet").stat().st_size > 0


def test_clean_data_passes(tmp_path: Path) -> None:
    with dataset_from(tmp_path, [{"image": "a.png", "split": "train"}, {"image": "b.png", "split": "test"}]) as ds:
        report = run_audit(ds, only=["split.exact_leak"], save=False)
        assert report.findings == [] and report.exit_code("warning") == 0 and report.run is None


def test_severity_override_moves_the_gate(tmp_path: Path) -> None:
    with _leaky(tmp_path) as ds:
        config = AuditConfig(checks={"split.exact_leak": {"severity": "info"}})
        report = run_audit(ds, only=["split.exact_leak"], config=config, save=False)
        assert [f.severity for f in report.findings] == ["info"]
        assert report.exit_code("warning") == 0


def test_unknown_check_and_bad_params_are_named() -> None:
    with pytest.raises(DatasetError, match="unknown check id.*no.such"):
        build_checks(AuditConfig(), only=["no.such"])
    with pytest.raises(DatasetError, match="split.exact_leak"):
        build_checks(AuditConfig(checks={"split.exact_leak": {"margin": 3}}), only=["split.exact_leak"])


def test_every_registered_check_loads_and_declares_itself() -> None:
    for check_id in BUILTIN_CHECKS:
        cls = get_check(check_id)
        assert cls.id == check_id and cls.title and cls.severity in ("error", "warning", "info")


def test_a_check_that_crashes_is_reported_failed_and_the_others_still_run(tmp_path: Path) -> None:
    from keepsight.audit.runner import run_checks
    from keepsight.checks.base import Check
    from keepsight.checks.context import AuditContext
    from keepsight.checks.split.exact_leak import ExactLeak

    class Broken(Check):
        id = "test.broken"
        title = "always crashes"

        def run(self, ctx):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("planted bug")

    with _leaky(tmp_path) as ds:
        broken, leak = run_checks(AuditContext(ds), [Broken(), ExactLeak()])
        assert broken.status == "failed" and "ZeroDivisionError: planted bug" in (broken.reason or "")
        assert leak.status == "ok" and len(leak.findings) == 1
