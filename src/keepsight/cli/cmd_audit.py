from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, out, progress_bar, state
from keepsight.storage.blobs import atomic_write_bytes

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
                    console.print(f"dataset {ds.root}: {imported.added} samples added, "
                                  f"{imported.unchanged} already present, {len(imported.problems)} problems recorded",
                                  highlight=False)
                with progress_bar("auditing") as bar:
                    def stage_progress(stage: str):  # type: ignore[no-untyped-def]
                        return bar

                    report = run_audit(ds, only=only or None, skip=skip or (), stage_progress=stage_progress,
                                       check_progress=lambda done, total, _id: bar(done, total))
                gate = fail_on or ds.config.audit.fail_on
                if html_file is not None:
                    from keepsight.audit.html import write_html

                    write_html(ds, report, html_file)
                    console.print(f"HTML report: {html_file}", highlight=False)
            finally:
                ds.close()
        body = json.dumps(report.as_dict(), indent=1, default=str)
        if json_file is not None and str(json_file) == "-":
            out.print_json(body)
        else:
            if json_file is not None:
                atomic_write_bytes(json_file, body.encode("utf-8"))
                console.print(f"JSON report: {json_file}", highlight=False)
            _print_summary(report, show)
        code = report.exit_code(gate)  # type: ignore[arg-type]
        if code:
            console.print(f"[bold red]audit failed[/] at severity '{gate}' (exit {code})")
        raise typer.Exit(code)


def _print_summary(report, show: int) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"audit: {report.summary['samples']} samples"
                  + (f", run {report.run.id}" if report.run else ""))
    for col in ("check", "status", "errors", "warnings", "info", "seconds"):
        table.add_column(col, justify="right" if col in ("errors", "warnings", "info", "seconds") else "left")
    for r in report.results:
        c = r.counts()
        status = r.status if r.status == "ok" else f"{r.status}: {r.reason}"
        table.add_row(r.check, status, str(c["error"] or ""), str(c["warning"] or ""), str(c["info"] or ""),
                      f"{r.seconds:.1f}")
    out.print(table)
    for r in report.results:
        for f in r.findings[:show]:
            where = ", ".join(f.paths[:2]) + (" ..." if len(f.paths) > 2 else "")
            out.print(f"[{_STYLE[f.severity]}]{f.severity}[/] {f.check}: {f.message}" + (f" [{where}]" if where else ""),
                      highlight=False)
        if len(r.findings) > show:
            out.print(f"  ... {len(r.findings) - show} more {r.check} findings (see --json / --html)")
