from __future__ import annotations

import typer
from rich.table import Table

from keepsight.cli.common import errors_to_exit, open_dataset, out, print_json
from keepsight.info import dataset_info


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")) -> None:
        """Counts of samples, annotations per kind, classes and splits."""
        with errors_to_exit():
            ds = open_dataset()
            data = dataset_info(ds)
            ds.close()
        if as_json:
            print_json(data)
            return
        out.print(f"[bold]{data['name']}[/]: {data['samples']} samples ({data['removed']} removed)")
        table = Table("kind", "annotations")
        for kind, n in data["annotations"].items():
            if n:
                table.add_row(kind, str(n))
        out.print(table)
        classes = Table("class", "annotations")
        for name, n in data["classes"].items():
            classes.add_row(name, str(n))
        out.print(classes)
        out.print("splits: " + ", ".join(f"{k}={v}" for k, v in data["splits"].items()))
        if data["import_problems"]:
            out.print(f"[yellow]{data['import_problems']} import problems recorded[/]")
