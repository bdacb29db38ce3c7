"""Run the chosen checks over one shared context, save the run, and gate on severity."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from keepsight import __version__
from keepsight.audit.config import AuditConfig, FailOn
from keepsight.checks.base import SEVERITIES, SEVERITY_RANK, Check, CheckResult, Finding, Skip
from keepsight.checks.context import AuditContext, StageProgress, cpu_seconds
from keepsight.checks.registry import check_ids, get_check
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError, KeepsightError
from keepsight.runs import Run, fingerprint, finish_run, start_run
from keepsight.storage.catalog import tables as t

CheckProgress = Callable[[int, int, str], None]  # done, total, check id


@dataclass
class AuditReport:
    results: list[CheckResult]
    summary: dict[str, Any]
    run: Run | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def as_dict(self) -> dict[str, Any]:
        return {"findings": [f.as_dict() for f in self.findings], "summary": self.summary}

    def exit_code(self, fail_on: FailOn) -> int:
        """0 when nothing reaches ``fail_on``; 1 otherwise (and when a check itself failed)."""
        if any(r.status == "failed" for r in self.results):
            return 1
        if fail_on == "never":
            return 0
        floor = SEVERITY_RANK[fail_on]
        return 1 if any(SEVERITY_RANK[f.severity] >= floor for f in self.findings) else 0


def build_checks(config: AuditConfig, *, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> list[Check]:
    """Instantiate the checks to run, each with its params validated against its own model."""
    known = check_ids()
    chosen = list(only) if only else [c for c in known if c not in config.disabled]
    unknown = [c for c in [*chosen, *skip, *config.checks] if c not in known]
    if unknown:
        raise DatasetError(f"unknown check id(s): {', '.join(unknown)}; known: {', '.join(known)}")
    checks: list[Check] = []
    for check_id in chosen:
        if check_id in set(skip):
            continue
        cls = get_check(check_id)
        try:
            params = cls.Params.model_validate(config.checks.get(check_id, {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DatasetError(f"invalid params for check {check_id}: {first['msg']}",
                               element=f"audit.checks.{check_id}.{where}") from None
        checks.append(cls(params))
    return checks


def _input_fingerprint(ds: Dataset, checks: list[Check], config: AuditConfig) -> str:
    with ds.reading() as conn:
        samples = conn.execute(select(t.samples.c.id, t.samples.c.blob, t.samples.c.split, t.samples.c.verdict,
                                      t.samples.c.status).order_by(t.samples.c.id)).all()
        anns = conn.execute(select(t.annotations.c.uid, t.annotations.c.revision, t.annotations.c.deleted)
                            .order_by(t.annotations.c.uid)).all()
        classes = conn.execute(select(t.classes.c.name, t.classes.c.spec).order_by(t.classes.c.name)).all()
    return fingerprint([
        __version__, [tuple(r) for r in samples], [tuple(r) for r in anns], [tuple(r) for r in classes],
        [c.id for c in checks], [c.params.model_dump(mode="json") for c in checks], config.fail_on,
    ])


def run_checks(ctx: AuditContext, checks: list[Check], progress: CheckProgress | None = None) -> list[CheckResult]:
    results: list[CheckResult] = []
    for i, check in enumerate(checks):
        if progress:
            progress(i, len(checks), check.id)
        t0, c0 = time.perf_counter(), cpu_seconds()
        s0, sc0 = ctx.stage_wall(), ctx.stage_cpu()
        ctx.current_check = check.id
        try:
            # the checks' matrices are small: BLAS / OpenMP threads would only spin against each other
            with threadpool_limits(limits=1):
                result = check.run(ctx)
        except Skip as skip:
            result = CheckResult(check.id, check.title, status="skipped", reason=skip.reason)
        except KeepsightError as exc:
            # A check that cannot run on this data is reported, never hidden, and fails the gate.
            result = CheckResult(check.id, check.title, status="failed", reason=exc.message)
        except Exception as exc:  # noqa: BLE001 - one broken check must not take the whole audit down
            result = CheckResult(check.id, check.title, status="failed",
                                 reason=f"internal error in the check: {type(exc).__name__}: {exc}")
        finally:
            ctx.current_check = None
        # a check's own time: the shared stages it happened to wait for are reported as stages
        waited = ctx.stage_wall() - s0
        result.seconds = max(0.0, time.perf_counter() - t0 - waited)
        result.cpu_seconds = max(0.0, cpu_seconds() - c0 - (ctx.stage_cpu() - sc0))
        result.stage_seconds = waited
        results.append(result)
    if progress:
        progress(len(checks), len(checks), "")
    return results


def summarize(ctx: AuditContext, results: list[CheckResult], *, wall: float | None = None,
              cpu: float | None = None) -> dict[str, Any]:
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for r in results:
        for sev, n in r.counts().items():
            counts[sev] += n
    per_split: dict[str, int] = {split: len(samples) for split, samples in ctx.splits.items()}
    per_class: dict[str, dict[str, int]] = {}
    for s in ctx.samples:
        for a in ctx.annotations.get(s.id, []):
            per_class.setdefault(a.label, {}).setdefault(s.split, 0)
            per_class[a.label][s.split] += 1
    return {
        "samples": len(ctx.samples),
        "findings": counts,
        "checks": [r.as_dict() for r in results],
        # the shared stages (describe once, the same-object engine) timed apart from the checks that wait for them
        "stages": {name: record.as_dict() for name, record in ctx.stage_times.items()},
        "seconds": None if wall is None else round(wall, 3),
        "cpu_seconds": None if cpu is None else round(cpu, 3),
        "samples_per_split": per_split,
        "annotations_per_class_and_split": per_class,
        "keepsight_version": __version__,
    }


def _save(run: Run, report: AuditReport) -> None:
    run.write_json("findings.json", report.as_dict())
    rows = [f.as_dict() for f in report.findings]
    columns = {
        "check": [r["check"] for r in rows],
        "severity": [r["severity"] for r in rows],
        "message": [r["message"] for r in rows],
        "samples": [r["samples"] for r in rows],
        "paths": [r["paths"] for r in rows],
        "annotations": [r["annotations"] for r in rows],
        "label": [r["label"] for r in rows],
        "split": [r["split"] for r in rows],
        "score": [r["score"] for r in rows],
        "action": [r["action"] for r in rows],
        "evidence": [json.dumps(r["evidence"], default=str) for r in rows],  # free-form: JSON text in Parquet
    }
    schema = pa.schema([
        ("check", pa.string()), ("severity", pa.string()), ("message", pa.string()),
        ("samples", pa.list_(pa.int64())), ("paths", pa.list_(pa.string())), ("annotations", pa.list_(pa.string())),
        ("label", pa.string()), ("split", pa.string()), ("score", pa.float64()), ("action", pa.string()),
        ("evidence", pa.string()),
    ])
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns, schema=schema), sink)
    run.write_bytes("findings.parquet", sink.getvalue().to_pybytes())


def run_audit(
    ds: Dataset,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
    config: AuditConfig | None = None,
    stage_progress: StageProgress | None = None,
    check_progress: CheckProgress | None = None,
    workers: int | None = None,
    save: bool = True,
) -> AuditReport:
    """Audit ``ds``: every enabled check (or ``only`` those), sharing one context; saved as a run."""
    config = config or ds.config.audit
    checks = build_checks(config, only=only, skip=skip)
    wall, cpu = time.perf_counter(), cpu_seconds()
    ctx = AuditContext(ds, stage_progress=stage_progress, workers=workers)
    run = None
    if save:
        run_config = {"checks": {c.id: c.params.model_dump(mode="json") for c in checks}, "fail_on": config.fail_on}
        run = start_run(ds, "audit", run_config, fingerprint=_input_fingerprint(ds, checks, config))
    try:
        results = run_checks(ctx, checks, check_progress)
    except BaseException:
        if run is not None:
            finish_run(ds, run, {"error": "interrupted"}, status="failed")
        raise
    report = AuditReport(results, summarize(ctx, results, wall=time.perf_counter() - wall, cpu=cpu_seconds() - cpu), run)
    if run is not None:
        report.summary["run"] = run.id
        _save(run, report)
        finish_run(ds, run, report.summary)
    return report
