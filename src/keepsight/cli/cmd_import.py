from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, parse_options, print_json, progress_bar
from keepsight.ingest.importer import import_path


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_(
        source: Path = typer.Argument(..., help="Folder or annotation file to import."),
        format: str = typer.Option(None, "--format", "-f", help="Format name (default: detected)."),
        split: str = typer.Option(None, help="Put every imported sample in this split."),
        skip_bad: bool = typer.Option(False, "--skip-bad", help="Import the rest and record each problem."),
        option: list[str] = typer.Option(None, "--option", "-o", help="Format option key=value (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
    ) -> None:
        """Import images and annotations (idempotent; an interrupted import resumes)."""
        with errors_to_exit():
            ds = open_dataset()
            with progress_bar(f"importing {source.name}") as progress:
                report = import_path(ds, source, format=format, split=split, skip_bad=skip_bad,
                                     options=parse_options(option), progress=progress)
            ds.close()
        if as_json:
            print_json(report.as_dict())
            return
        console.print(
            f"{report.format}: [bold]{report.added}[/] samples added, {report.unchanged} already present, "
            f"{report.annotations} annotations" + (f", resumed after {report.resumed_from}" if report.resumed_from else "")
        )
        for problem in report.problems[:20]:
            console.print(f"[yellow]skipped[/]: {problem.message}", highlight=False)
        if len(report.problems) > 20:
            console.print(f"... and {len(report.problems) - 20} more problems (recorded in the catalog)")
