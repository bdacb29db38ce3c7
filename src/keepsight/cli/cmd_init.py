from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, state
from keepsight.config import CONFIG_NAME
from keepsight.dataset import Dataset


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        path: Path = typer.Argument(None, help="Dataset folder to create (default: --dataset or '.')."),
        catalog: str = typer.Option(None, help="Catalog URL (default: SQLite in .keepsight/)."),
        blobs: str = typer.Option(None, help="Blob store: a folder or s3://bucket/prefix?endpoint_url=..."),
        name: str = typer.Option(None, help="Dataset name (default: the folder name)."),
        exist_ok: bool = typer.Option(False, "--exist-ok", help="Succeed if the dataset already exists."),
    ) -> None:
        """Create a dataset folder with its config, label book and catalog."""
        root = path or state.dataset_dir
        with errors_to_exit():
            if exist_ok and (root / CONFIG_NAME).exists():
                Dataset.open(root).close()
                console.print(f"dataset already initialised in {root.resolve()}")
                return
            ds = Dataset.init(root, catalog=catalog, blobs=blobs, name=name)
            console.print(f"initialised dataset [bold]{ds.config.name}[/] in {ds.root}")
            ds.close()
