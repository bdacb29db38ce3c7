from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, open_dataset, out
from keepsight.errors import DatasetError
from keepsight.storage.blobs import atomic_write_bytes

if TYPE_CHECKING:
    from keepsight.curves.runner import CurveResult

_STAGES = {"groups": "finding object groups", "prepare": "preparing features", "train": "training points"}


def register(app: typer.Typer) -> None:
    @app.command("curve")
    def curve(
        task: str = typer.Option("classify", help="classify | anomaly | detect | segment (detect/segment need --command)."),
        sizes: str = typer.Option("auto", help="'auto' (halving from the whole train split) or e.g. 20,40,80,160."),
        repeats: int = typer.Option(None, help="Seeds (subsets) per size (default: the dataset config, 3)."),
        trainer: str = typer.Option(None, help="Built-in trainer: features, cnn (classify); anomaly-knn, anomaly-global, anomaly-template."),
        command: str = typer.Option(None, help="Your trainer as a shell command template, e.g. "
                                    "\"{python} train.py --train {train_dir} --test {test_dir} --out {out}\"."),
        export_format: str = typer.Option(None, "--export-format", help="Format the --command gets its data in "
                                          "(default: image_folder, mvtec for anomaly, yolo for detect, coco for segment)."),
        labels: str = typer.Option("auto", help="classify: 'class' (image classes), 'verdict' (OK/NG) or 'auto'."),
        metric: str = typer.Option(None, help="classify: balanced_accuracy (default), accuracy, macro_f1; anomaly: auroc."),
        target: float = typer.Option(None, help="A target score: how many images it needs, or that it is out of reach."),
        holdout: float = typer.Option(None, help="No test split? Hold out this fraction of the train split, by object group."),
        workers: int = typer.Option(None, help="Points trained in parallel (default: the dataset config; 0 = one per core)."),
        groups: bool = typer.Option(True, "--groups/--no-groups", help="Keep same-object groups together (default on)."),
        json_file: Path = typer.Option(None, "--json", help="Write the points, the fit and the recommendation as JSON ('-' = stdout)."),
        plot_file: Path = typer.Option(None, "--plot", help="Write the curve as a .png or .svg image."),
        html_file: Path = typer.Option(None, "--html", help="Write a self-contained HTML page: verdict, numbers, plot, tables."),
    ) -> None:
        """Learning curve: train on growing subsets of the train split and say whether more images will pay."""
        from keepsight.curves.items import TASKS
        from keepsight.curves.runner import compute_curve

        if task not in TASKS:
            raise typer.BadParameter(f"--task must be one of {', '.join(TASKS)}")
        if labels not in ("auto", "class", "verdict"):
            raise typer.BadParameter("--labels must be auto, class or verdict")
        with errors_to_exit():
            if plot_file is not None and plot_file.suffix.lower() not in (".png", ".svg"):
                raise DatasetError("the plot file must end in .png or .svg", path=plot_file)
            ds = open_dataset()
            try:
                with _bars() as progress:
                    result = compute_curve(
                        ds, task=task, trainer=trainer, command=command, sizes=sizes, repeats=repeats, target=target,  # type: ignore[arg-type]
                        labels=labels, metric=metric, holdout=holdout, workers=workers,  # type: ignore[arg-type]
                        export_format=export_format, use_groups=groups, progress=progress,
                    )
            finally:
                ds.close()
            if plot_file is not None:
                from keepsight.curves.plot import save_plot

                save_plot(result, plot_file)
            if html_file is not None:
                from keepsight.curves.report import write_curve_html

                write_curve_html(result, html_file, title=f"learning curve · {ds.root.name}")
        body = json.dumps(result.as_dict(), indent=1, default=str)
        if json_file is not None and str(json_file) == "-":
            out.print_json(body)
        else:
            _print(result)
            if json_file is not None:
                atomic_write_bytes(json_file, body.encode("utf-8"))
                console.print(f"JSON: {escape(str(json_file))}", highlight=False)
        if plot_file is not None:
            console.print(f"plot: {escape(str(plot_file))}", highlight=False)
        if html_file is not None:
            console.print(f"HTML: {escape(str(html_file))}", highlight=False)


@contextmanager
def _bars() -> Iterator[Callable[[str, int, int], None]]:
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn()]
    with RichProgress(*columns, console=console, disable=not console.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print(result: CurveResult) -> None:
    pool = result.pool
    console.print(f"{result.task} with {result.trainer}; {result.metric} on {pool['test']} test images; train pool "
                  f"{pool['train']} images in {pool['train_groups']} object groups"
                  + (f" (held out {pool['holdout']:.0%})" if pool["holdout"] else ""), highlight=False)
    if pool["excluded"]:
        console.print(f"left out: {pool['excluded']}", highlight=False)
    table = Table("size", "images", "test", "± std", "train", "seeds")
    for s in result.summary:
        table.add_row(str(s["size"]), f"{s['n']:.0f}", _fmt(s["test_mean"]), _fmt(s["test_std"]), _fmt(s["train_mean"]),
                      str(s["repeats"]))
    out.print(table)
    rec = result.recommendation
    if result.fit is not None:
        fit = result.fit
        out.print(f"fit: err(n) = {fit['a']:.3g} * n^-{fit['b']:.3g} + {fit['c']:.3g} (asymptote {fit['asymptote']:.3f}, "
                  f"rmse {fit['rmse']:.3f}, {fit['uncertainty']})", highlight=False)
    for name, est in rec["predicted"].items():
        out.print(f"predicted at {name} ({est['size']:.0f} images): {est['value']:.3f} "
                  f"[{est['low']:.3f}, {est['high']:.3f}]", highlight=False)
    out.print(f"[bold]{rec['verdict']}[/]: {escape(rec['message'])}", highlight=False)
    if rec["target"] is not None:
        out.print(escape(rec["target"]["message"]), highlight=False)
    if rec["needs_more"]:
        out.print(f"per class: {escape(rec['needs_more'])}", highlight=False)
    for finding in rec["diagnosis"]:
        out.print(f"diagnosis: {escape(finding['message'])}", highlight=False)
    for note in result.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(f"run {result.run_id} ({result.seconds:.1f} s, {result.reused_points} points reused)", highlight=False)
