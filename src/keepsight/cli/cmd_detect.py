from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import errors_to_exit, out, print_json
from keepsight.errors import UnknownFormatError
from keepsight.formats.registry import detect_all


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        path: Path = typer.Argument(..., help="Folder or annotation file."),
        as_json: bool = typer.Option(False, "--json", help="Print every format's verdict as JSON."),
    ) -> None:
        """Name the format of PATH and, for every other format, why it was rejected."""
        with errors_to_exit():
            if not path.exists():
                raise UnknownFormatError("path does not exist", path=path)
            results = detect_all(path.resolve())
        if as_json:
            print_json([{"format": d.format, "confidence": d.confidence, "reasons": d.reasons,
                         "root": str(d.root) if d.root else None} for d in results])
        else:
            best = results[0]
            if best.confidence > 0:
                out.print(f"[bold green]{best.format}[/] (confidence {best.confidence:.2f}): {'; '.join(best.reasons)}")
            else:
                out.print("[bold red]no format recognised[/]")
            for d in results[1:] if best.confidence > 0 else results:
                verdict = f"{d.confidence:.2f}" if d.confidence > 0 else "rejected"
                out.print(f"  {d.format}: {verdict}: {'; '.join(d.reasons) or 'no reason given'}", highlight=False)
        if results[0].confidence <= 0:
            raise typer.Exit(4)
