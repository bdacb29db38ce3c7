from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, print_json, progress_bar
from keepsight.errors import DatasetError


def register(app: typer.Typer) -> None:
    @app.command("similar")
    def similar(
        image: Path = typer.Argument(None, help="List what this one image matches (default: all pairs and groups)."),
        k: int | None = typer.Option(
            None, help="Candidates per image from the nearest-neighbour search (default: the library's, 16)."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print pairs and groups (or matches) as JSON."),
    ) -> None:
        """Exact and near duplicates, verified geometrically, and the object groups they form."""
        from keepsight.similarity import find_similar, similar_to

        with errors_to_exit():
            ds = open_dataset()
            if image is not None:
                if not image.is_file():
                    raise DatasetError("image file not found", path=image)
                matches = similar_to(ds, image) if k is None else similar_to(ds, image, k=k)
                ds.close()
                if as_json:
                    print_json([m.__dict__ for m in matches])
                    return
                for m in matches:
                    out.print(f"{m.path}: {m.reason} (strength {m.strength:g}) {m.evidence}", highlight=False)
                if not matches:
                    out.print("no match")
                return
            with progress_bar("describing") as progress:
                if k is None:
                    result = find_similar(ds, progress=progress)
                else:
                    result = find_similar(ds, k=k, progress=progress)
            ds.close()
        if as_json:
            print_json(result.as_dict())
            return
        multi = [g for g in result.groups if len(g.samples) > 1]
        console.print(f"{len(result.pairs)} pairs; {len(result.groups)} object groups, {len(multi)} with repeats")
        for pair in result.pairs[:50]:
            out.print(f"{pair.path_a} ~ {pair.path_b}: {pair.reason} ({pair.strength:g})", highlight=False)
        if len(result.pairs) > 50:
            out.print(f"... {len(result.pairs) - 50} more (use --json)")
