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


def test_each_check_has_its_own_wall_and_cpu_time_and_shared_stages_are_timed_apart(tmp_path: Path) -> None:
    import time

    from keepsight.audit.runner import run_checks, summarize
    from keepsight.checks.base import Check
    from keepsight.checks.context import AuditContext

    class Busy(Check):
        id = "test.busy"
        title = "burns CPU, then reads the describe stage's statistics"

        def run(self, ctx):  # type: ignore[no-untyped-def]
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
            assert ctx.stats  # the first check to ask pays for the describe stage
            return self.result([])

    class Idle(Check):
        id = "test.idle"
        title = "reads the statistics again (already there) and sleeps"

        def run(self, ctx):  # type: ignore[no-untyped-def]
            assert ctx.stats
            time.sleep(0.2)
            return self.result([])

    with _leaky(tmp_path) as ds:
        ctx = AuditContext(ds, workers=1)
        busy, idle = run_checks(ctx, [Busy(), Idle()])
        summary = summarize(ctx, [busy, idle], wall=1.0, cpu=0.5)
    describe = summary["stages"]["describe"]
    assert describe["first_used_by"] == "test.busy" and describe["wall"] > 0 and describe["cpu"] > 0
    assert busy.stage_seconds == pytest.approx(describe["wall"], abs=1e-3) and idle.stage_seconds == 0
    assert busy.cpu_seconds >= 0.25 and busy.seconds >= 0.25  # its own burn, without the describe stage
    assert idle.seconds >= 0.19 and idle.cpu_seconds < 0.15  # a sleep costs wall time, not CPU
    rows = {row["check"]: row for row in summary["checks"]}
    assert rows["test.busy"]["cpu_seconds"] >= 0.25 and rows["test.idle"]["stage_seconds"] == 0
    assert summary["seconds"] == 1.0 and summary["cpu_seconds"] == 0.5
