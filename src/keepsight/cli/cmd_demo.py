from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console
from keepsight.demo import make_demo


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        dest: Path = typer.Argument(Path("keepsight-demo"), help="Folder to write the demo data to (replaced)."),
        images: int = typer.Option(60, help="Number of plate images."),
        seed: int = typer.Option(0, help="Random seed."),
    ) -> None:
        """Make a small synthetic inspection dataset (with planted problems) to try keepsight on."""
        manifest = make_demo(dest, n_images=images, seed=seed)
        console.print(f"wrote {manifest} and its images")
