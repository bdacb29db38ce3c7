from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, parse_options, print_json
from keepsight.export import export_dataset


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        dest: Path = typer.Argument(..., help="Folder to write."),
        format: str = typer.Option(..., "--format", "-f", help="yolo, coco, mvtec, voc, cvat, labelme, ..."),
        strict: bool = typer.Option(False, help="Refuse any conversion that loses information."),
        overwrite: bool = typer.Option(False, help="Replace a non-empty destination."),
        split: list[str] = typer.Option(None, help="Only these splits (repeatable)."),
        option: list[str] = typer.Option(None, "--option", "-o", help="Format option key=value (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print the export report as JSON."),
    ) -> None:
        """Export the dataset for a trainer; lossy conversions are warned with counts."""
        with errors_to_exit():
            ds = open_dataset()
            report = export_dataset(ds, dest, format=format, strict=strict, overwrite=overwrite, splits=split,
                                    options=parse_options(option))
            ds.close()
        if as_json:
            print_json(report.as_dict())
            return
        console.print(f"exported [bold]{report.samples}[/] samples as {report.format} to {report.dest}")
        for what, count in report.losses.items():
            console.print(f"[yellow]warning[/]: {count} x {what}", highlight=False)
