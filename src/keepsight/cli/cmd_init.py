from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, state
from keepsight.dataset import Dataset


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        path: Path = typer.Argument(None, help="Dataset folder to create (default: --dataset or '.')."),
        catalog: str = typer.Option(None, help="Catalog URL (default: SQLite in .keepsight/)."),
        blobs: str = typer.Option(None, help="Blob store: a folder or s3://bucket/prefix?endpoint_url=..."),
        name: str = typer.Option(None, help="Dataset name (default: the folder name)."),
    ) -> None:
        """Create a dataset folder with its config, label book and catalog."""
        with errors_to_exit():
            ds = Dataset.init(path or state.dataset_dir, catalog=catalog, blobs=blobs, name=name)
            console.print(f"initialised dataset [bold]{ds.config.name}[/] in {ds.root}")
            ds.close()
