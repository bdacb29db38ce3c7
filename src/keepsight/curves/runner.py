"""compute_curve: draw the subsets, train every (size, seed) point (in parallel), fit, advise, save the run.

Resumable: each finished point is written at once to ``<run>/points/<size>-r<repeat>.json``. A
rerun with the same fingerprint (same data, labels, groups, trainer and its params, sizes,
repeats, seed) continues the latest unfinished run of that fingerprint, or copies the points of
a finished one into a new run; only missing points are trained.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from keepsight import __version__
from keepsight.curves.config import CurveConfig
from keepsight.curves.fit import fit_power_law
from keepsight.curves.items import CurveItem, LabelMode, Pool, Task
from keepsight.curves.metrics import ANOMALY_METRICS, CLASSIFY_METRICS
from keepsight.curves.pool import build_pool
from keepsight.curves.recommend import recommend, summarize_sizes
from keepsight.curves.subsets import nested_subsets, parse_sizes
from keepsight.curves.trainers import Trainer, make_trainer
from keepsight.dataset import Dataset
from keepsight.errors import DatasetError
from keepsight.runs import Run, finish_run, list_runs, start_run
from keepsight.runs import fingerprint as make_fingerprint
from keepsight.storage.blobs import atomic_write_bytes

KIND = "curve"
CurveProgress = Callable[[str, int, int], None]  # stage, done, total
DEFAULT_METRIC = {"classify": "balanced_accuracy", "anomaly": "auroc", "detect": "score", "segment": "score"}


@dataclass
class CurveResult:
    task: str
    trainer: str
    metric: str
    labels: str
    target: float | None
    sizes: list[int]
    repeats: int
    points: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    fit: dict[str, Any] | None
    fit_curve: list[dict[str, float]]
    recommendation: dict[str, Any]
    pool: dict[str, Any]
    run_id: str | None = None
    seconds: float = 0.0
    reused_points: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> CurveResult:
        return cls(**body)


@dataclass(frozen=True)
class _Task:
    key: str
    size: int
    repeat: int
    seed: int
    train: tuple[int, ...]  # indices into the pool's train items
    workdir: str


# -- worker side -----------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(trainer: Trainer, train: list[CurveItem], test: list[CurveItem], metric: str, threads: int) -> None:
    import cv2
    import faiss

    cv2.setNumThreads(threads)
    faiss.omp_set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch when a trainer imports it (lazily, later)
    _STATE.update(trainer=trainer, train=train, test=test, metric=metric)


def _run_point(task: _Task) -> dict[str, Any]:
    trainer: Trainer = _STATE["trainer"]
    items: list[CurveItem] = _STATE["train"]
    train = [items[i] for i in task.train]
    workdir = Path(task.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ev = trainer.evaluate(train, _STATE["test"], seed=task.seed, workdir=workdir, metric=_STATE["metric"])
    return {
        "key": task.key, "size": task.size, "repeat": task.repeat, "seed": task.seed, "n": len(train),
        "groups": len({i.group for i in train}), "class_counts": dict(Counter(i.label for i in train)),
        "train": ev.train.as_dict() if ev.train is not None else None, "test": ev.test.as_dict(),
        "seconds": round(time.perf_counter() - t0, 3), "details": ev.details,
    }


# -- main side -------------------------------------------------------------------------------


def _resolve_metric(task: Task, metric: str | None) -> str:
    metric = metric or DEFAULT_METRIC[task]
    allowed = {"classify": CLASSIFY_METRICS, "anomaly": ANOMALY_METRICS}.get(task, ("score",))
    if metric not in allowed:
        raise DatasetError(f"metric {metric!r} does not apply to {task}; choose one of {', '.join(allowed)}")
    return metric


def _item_rows(items: Sequence[CurveItem]) -> list[list[Any]]:
    return [[i.sample_id, i.digest, i.label, i.group, i.defect] for i in items]


def _open_run(ds: Dataset, config: dict[str, Any], fp: str) -> tuple[Run, int]:
    """The run to write into and how many points were copied from a finished run of the same fingerprint."""
    same = [r for r in list_runs(ds, KIND) if r.fingerprint == fp]
    if same and same[0].status != "done":
        return same[0], 0
    run = start_run(ds, KIND, config, fingerprint=fp)
    copied = 0
    if same:
        source = same[0].folder / "points"
        if source.is_dir():
            (run.folder / "points").mkdir(parents=True, exist_ok=True)
            for path in sorted(source.glob("*.json")):
                shutil.copyfile(path, run.folder / "points" / path.name)
                copied += 1
    return run, copied


def _load_points(run: Run, fp: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((run.folder / "points").glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue  # written atomically, so only a foreign file can be broken: recompute that point
        if body.get("fingerprint") == fp:
            out[body["key"]] = body
    return out


def _workers(requested: int | None, config: CurveConfig, tasks: int) -> int:
    n = requested if requested is not None else config.workers
    return max(1, min(n or os.cpu_count() or 1, tasks))


def _fit_curve(fit: Any, smallest: float, current: float) -> list[dict[str, float]]:
    if fit is None:
        return []
    grid = np.geomspace(max(1.0, smallest), 4.0 * current, 40)
    return [{"n": float(n), **fit.predict(float(n)).as_dict()} for n in grid]


def _pool_counts(pool: Pool, task: Task) -> dict[str, tuple[int, int]]:
    items = pool.test if task == "anomaly" else pool.train
    key: Callable[[CurveItem], str | None] = (lambda i: i.defect) if task == "anomaly" else (lambda i: i.label)
    groups: dict[str, set[str]] = {}
    samples: Counter[str] = Counter()
    for item in items:
        name = key(item)
        if name is not None:
            groups.setdefault(name, set()).add(item.group)
            samples[name] += 1
    return {name: (len(groups[name]), samples[name]) for name in groups}


def compute_curve(
    ds: Dataset,
    *,
    task: Task = "classify",
    trainer: str | Trainer | None = None,
    command: str | None = None,
    sizes: str = "auto",
    repeats: int | None = None,
    target: float | None = None,
    labels: LabelMode = "auto",
    metric: str | None = None,
    holdout: float | None = None,
    workers: int | None = None,
    export_format: str | None = None,
    use_groups: bool = True,
    progress: CurveProgress | None = None,
) -> CurveResult:
    """Train on nested subsets of the train split, test on the fixed test split, fit and advise; saved as a run."""
    t0 = time.perf_counter()
    config: CurveConfig = ds.config.curve
    repeats = repeats or config.repeats
    if target is not None and not 0.0 < target <= 1.0:
        raise DatasetError(f"--target must be a score in (0, 1], got {target}")
    metric = _resolve_metric(task, metric)
    if isinstance(trainer, str) or trainer is None:
        model = make_trainer(task, trainer, command, config, export_format=export_format)
    else:
        if command is not None:
            raise DatasetError("give either a trainer or a command, not both")
        model = trainer
    if model.task != task:
        raise DatasetError(f"trainer {model.name!r} is for the {model.task} task, not {task}")
    pool = build_pool(ds, task, labels=labels, holdout=holdout, use_groups=use_groups,
                      progress=(lambda d, t: progress("groups", d, t)) if progress else None)
    n_classes = len({i.label for i in pool.train})
    size_list, dropped = parse_sizes(sizes, len(pool.train), n_classes, max_points=config.max_points)
    notes = [f"sizes {dropped} exceed the train pool ({len(pool.train)} samples) and were skipped"] if dropped else []
    run_config = {"task": task, "trainer": model.name, "trainer_params": model.params(), "metric": metric,
                  "labels": pool.labels, "sizes": size_list, "repeats": repeats, "seed": config.seed,
                  "holdout": holdout, "groups": use_groups, "target": target}
    fp = make_fingerprint([__version__, {k: v for k, v in run_config.items() if k != "target"},
                           _item_rows(pool.train), _item_rows(pool.test)])
    run, copied = _open_run(ds, run_config, fp)
    try:
        done = _load_points(run, fp)
        tasks = []
        for repeat in range(repeats):
            seed = config.seed + repeat
            subsets = nested_subsets(pool.train, size_list, seed)
            for size in size_list:
                key = f"{size}-r{repeat}"
                if key not in done:
                    tasks.append(_Task(key, size, repeat, seed, tuple(subsets[size]), str(run.folder / "work" / key)))
        reused = len(done)
        if tasks:
            model.prepare(ds, [*pool.train, *pool.test],
                          (lambda d, t: progress("prepare", d, t)) if progress else None)
            total = reused + len(tasks)
            if progress:
                progress("train", reused, total)
            for point in _train(model, pool, tasks, metric, _workers(workers, config, len(tasks))):
                point["fingerprint"] = fp
                atomic_write_bytes(run.folder / "points" / f"{point['key']}.json",
                                   json.dumps(point, indent=1).encode("utf-8"))
                done[point["key"]] = point
                if progress:
                    progress("train", len(done), total)  # after the save: an interrupt here loses nothing
        points = sorted(done.values(), key=lambda p: (p["size"], p["repeat"]))
        result = _assemble(points, pool, task, model.name, metric, target, size_list, repeats, config)
        result.run_id, result.reused_points, result.notes = run.id, reused, notes
        if copied:
            result.notes.append(f"{copied} points copied from an earlier finished run with the same fingerprint")
        result.seconds = round(time.perf_counter() - t0, 3)
        run.write_json("result.json", result.as_dict())
        from keepsight.curves.plot import plot_curve

        run.write_bytes("curve.png", plot_curve(result))
        finish_run(ds, run, {"verdict": result.recommendation["verdict"], "current_score": result.recommendation[
            "current_score"], "metric": metric, "task": task, "trainer": model.name, "points": len(points),
            "seconds": result.seconds})
        return result
    except BaseException as exc:
        # Either way the points already saved are reused by the next run with this fingerprint.
        status = "failed" if isinstance(exc, Exception) else "interrupted"
        finish_run(ds, run, {"points_done": len(_load_points(run, fp)), "error": str(exc)}, status=status)
        raise


def _train(model: Trainer, pool: Pool, tasks: list[_Task], metric: str, workers: int) -> Iterator[dict[str, Any]]:
    """The points, as they finish: in this process, or in ``workers`` spawned processes."""
    if workers <= 1:
        _init_local(model, pool, metric)
        for task in tasks:
            yield _run_point(task)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(model, pool.train, pool.test, metric, threads)) as pool_exec:
        pending: set[Future[dict[str, Any]]] = {pool_exec.submit(_run_point, t) for t in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            pool_exec.shutdown(wait=False, cancel_futures=True)


def _init_local(model: Trainer, pool: Pool, metric: str) -> None:
    _STATE.update(trainer=model, train=pool.train, test=pool.test, metric=metric)


def _assemble(points: list[dict[str, Any]], pool: Pool, task: Task, trainer: str, metric: str, target: float | None,
              sizes: list[int], repeats: int, config: CurveConfig) -> CurveResult:
    fit = fit_power_law([p["n"] for p in points], [p["test"]["score"] for p in points],
                        bootstrap=config.bootstrap, seed=config.seed)
    summary = summarize_sizes(points)
    rec = recommend(points, fit, config, target=target, pool_counts=_pool_counts(pool, task), metric=metric, task=task)
    pool_info = {
        "train": len(pool.train), "test": len(pool.test), "train_groups": len({i.group for i in pool.train}),
        "classes": dict(sorted(Counter(i.label for i in pool.train).items())),
        "test_classes": dict(sorted(Counter(i.label for i in pool.test).items())),
        "excluded": dict(pool.excluded), "holdout": pool.holdout, "labels": pool.labels,
    }
    return CurveResult(
        task=task, trainer=trainer, metric=metric, labels=pool.labels, target=target, sizes=sizes, repeats=repeats,
        points=points, summary=[s.as_dict() for s in summary], fit=fit.as_dict() if fit is not None else None,
        fit_curve=_fit_curve(fit, min(p["n"] for p in points), summary[-1].n), recommendation=rec.as_dict(),
        pool=pool_info,
    )

