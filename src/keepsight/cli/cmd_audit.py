from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, out, progress_bar, state
from keepsight.storage.blobs import atomic_write_bytes

if TYPE_CHECKING:
    from keepsight.audit.runner import CheckProgress
    from keepsight.descriptors.describe import Progress

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def register(app: typer.Typer) -> None:
    @app.command("audit")
    def audit(
        path: Path = typer.Argument(Path("."), help="A dataset folder, or a folder / annotation file to import and audit."),
        format: str = typer.Option(None, "--format", "-f", help="Format of PATH when it is not a dataset (default: detected)."),
        json_file: Path = typer.Option(None, "--json", help="Write {findings, summary} as JSON to this file ('-' = stdout)."),
        html_file: Path = typer.Option(None, "--html", help="Write a self-contained HTML report to this file."),
        fail_on: str = typer.Option(None, "--fail-on", help="error | warning | never (default: the dataset config, 'error')."),
        only: list[str] = typer.Option(None, "--only", help="Run only this check id (repeatable)."),
        skip: list[str] = typer.Option(None, "--skip", help="Do not run this check id (repeatable)."),
        show: int = typer.Option(5, help="Findings shown per check in the terminal."),
    ) -> None:
        """Audit a dataset: every check, a saved run, and an exit code that can gate a training pipeline."""
        from keepsight.audit.runner import run_audit
        from keepsight.audit.source import open_for_audit

        if fail_on not in (None, "error", "warning", "never"):
            raise typer.BadParameter("--fail-on must be error, warning or never")
        with errors_to_exit():
            target = state.dataset_dir if state.dataset_given else None
            with progress_bar(f"importing {path.name or path}") as progress:
                ds, imported = open_for_audit(path, dataset=target, format=format, progress=progress)
            try:
                if imported is not None:
                    console.print(f"dataset {escape(str(ds.root))}: {imported.added} images added, "
                                  f"{imported.unchanged} already present, {len(imported.problems)} problems recorded",
                                  highlight=False)
                with _stage_bar() as (stage_progress, check_progress):
                    report = run_audit(ds, only=only or None, skip=skip or (), stage_progress=stage_progress,
                                       check_progress=check_progress)
                gate = fail_on or ds.config.audit.fail_on
                html_size = None
                if html_file is not None:
                    from keepsight.audit.html import write_html

                    with progress_bar("writing the HTML report") as html_progress:
                        html_size = write_html(ds, report, html_file, fail_on=gate,  # type: ignore[arg-type]
                                               progress=html_progress)
            finally:
                ds.close()
        body = json.dumps(report.as_dict(), indent=1, default=str)
        to_stdout = json_file is not None and str(json_file) == "-"
        if to_stdout:
            out.print_json(body)
        else:
            _print_summary(report, show)
            if json_file is not None:
                atomic_write_bytes(json_file, body.encode("utf-8"))
        if json_file is not None and not to_stdout:
            console.print(f"JSON report: {escape(str(json_file))}", highlight=False)
        if html_file is not None and html_size is not None:
            console.print(f"HTML report: {escape(str(html_file))} ({_size(html_size)})", highlight=False)
        code = report.exit_code(gate)  # type: ignore[arg-type]
        console.print(_verdict(report, gate, code), highlight=False)
        raise typer.Exit(code)


_STAGES = {"describe": "describing images", "verify": "matching images"}
_STAGE_NAMES = {"describe": "describe images", "similarity": "same-object engine"}


@contextmanager
def _stage_bar() -> Iterator[tuple[Callable[[str], Progress], CheckProgress]]:
    """One progress line whose label follows the audit: describing, matching, then each check by name."""
    columns = [TextColumn("[bold]{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with RichProgress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("auditing", total=None)

        def stage(name: str) -> Progress:
            def update(done: int, total: int | None) -> None:
                bar.update(task, description=_STAGES.get(name, name), completed=done, total=total)

            return update

        def check(done: int, total: int, check_id: str) -> None:
            bar.update(task, description=f"check {check_id}" if check_id else "checks done", completed=done, total=total)

        yield stage, check


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _verdict(report, gate: str, code: int) -> str:  # type: ignore[no-untyped-def]
    counts = report.summary["findings"]
    totals = ", ".join(f"{counts[s]} {s if s == 'info' or counts[s] == 1 else s + 's'}" for s in ("error", "warning", "info"))
    run = f"; saved as run {report.run.id}" if report.run else ""
    crashed = [r.check for r in report.results if r.status == "failed"]
    if gate == "never" and not code:
        return f"{totals}{run}. Gate off (--fail-on never): exit 0"
    if code:
        why = f"findings at '{gate}' or worse" if not crashed else f"check(s) failed to run: {', '.join(crashed)}"
        return f"{totals}{run}. [bold red]Audit FAILED[/]: {why} (exit {code})"
    return f"{totals}{run}. [bold green]Audit passed[/]: nothing at '{gate}' or worse"


def _print_summary(report, show: int) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"audit of {report.summary['samples']} images", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    for col in ("errors", "warnings", "info", "time", "cpu"):
        table.add_column(col, justify="right", no_wrap=True)
    for name, stage in report.summary.get("stages", {}).items():  # shared stages, timed apart from the checks
        table.add_row(f"[dim]stage: {escape(_STAGE_NAMES.get(name, name))}[/]", "", "", "", "",
                      f"{stage['wall']:.1f} s", f"{stage['cpu']:.1f} s")
    for r in report.results:
        c = r.counts()
        worst = next((s for s in ("error", "warning", "info") if c[s]), None)
        if r.status == "failed":
            status = "[bold red]failed[/]"
        elif r.status == "skipped":
            status = "[dim]skipped[/]"
        else:
            status = f"[{_STYLE[worst]}]{worst}[/]" if worst else "[green]clean[/]"
        table.add_row(r.check, status, str(c["error"] or ""), str(c["warning"] or ""), str(c["info"] or ""),
                      f"{r.seconds:.1f} s", f"{r.cpu_seconds:.1f} s")
    if report.summary.get("seconds") is not None:
        table.add_row("[bold]total[/]", "", "", "", "", f"{report.summary['seconds']:.1f} s",
                      f"{report.summary['cpu_seconds']:.1f} s")
    out.print(table)
    for r in report.results:  # why a check did not run: one line each, under the table
        if r.status != "ok":
            style = "bold red" if r.status == "failed" else "dim"
            out.print(f"  [{style}]{r.status}[/] {escape(r.check)}: {escape(r.reason or '')}", highlight=False)
    for r in report.results:
        if not r.findings:
            continue
        out.print(f"\n[bold]{escape(r.check)}[/] [dim]{escape(r.title)}[/]", highlight=False)
        for f in r.findings[:show]:
            where = ", ".join(f.paths[:2]) + (f" (+{len(f.paths) - 2})" if len(f.paths) > 2 else "")
            out.print(f"  [{_STYLE[f.severity]}]{f.severity:<7}[/] {escape(f.message)}"
                      + (f"  [dim]{escape(where)}[/]" if where else ""), highlight=False)
        if len(r.findings) > show:
            out.print(f"  [dim]... {len(r.findings) - show} more (see --json / --html)[/]", highlight=False)
    out.print()
