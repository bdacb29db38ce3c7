from __future__ import annotations

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, out


def register(app: typer.Typer) -> None:
    @app.command("remove")
    def remove(
        paths: list[str] = typer.Argument(..., help="Sample paths to take out of the dataset."),
        reason: str = typer.Option(..., help="Why, e.g. \"defect at edge\" or \"image carries markings\"."),
    ) -> None:
        """Remove images from the dataset, recording who, when and why (versions keep them)."""
        from keepsight.versions import remove_samples

        with errors_to_exit():
            ds = open_dataset()
            try:
                done = remove_samples(ds, paths, reason=reason)
            finally:
                ds.close()
        console.print(f"removed {len(done)} sample(s)", highlight=False)

    @app.command("restore")
    def restore(
        paths: list[str] = typer.Argument(..., help="Removed sample paths to bring back."),
        reason: str = typer.Option(..., help="Why."),
    ) -> None:
        """Bring removed images back, recording why."""
        from keepsight.versions import restore_samples

        with errors_to_exit():
            ds = open_dataset()
            try:
                done = restore_samples(ds, paths, reason=reason)
            finally:
                ds.close()
        console.print(f"restored {len(done)} sample(s)", highlight=False)

    @app.command("relabel")
    def relabel(
        path: str = typer.Argument(..., help="The sample path."),
        to: str = typer.Option(..., help="The new class (declared in labelbook.yaml)."),
        from_label: str = typer.Option(None, "--from", help="Re-label every annotation of this class."),
        uid: str = typer.Option(None, help="Re-label only this annotation."),
        reason: str = typer.Option(..., help="Why."),
    ) -> None:
        """Change the class of annotations of one image; each edit is a recorded revision."""
        from keepsight.versions import relabel as relabel_annotations

        with errors_to_exit():
            ds = open_dataset()
            try:
                changed = relabel_annotations(ds, path, to=to, from_label=from_label, uid=uid, reason=reason)
            finally:
                ds.close()
        console.print(f"re-labelled {len(changed)} annotation(s) as {to}", highlight=False)

    @app.command("gc")
    def gc(dry_run: bool = typer.Option(False, help="List what would be deleted; delete nothing.")) -> None:
        """Delete the bytes of removed images that no version holds (run it when nobody else writes)."""
        from keepsight.versions import collect_garbage

        with errors_to_exit():
            ds = open_dataset()
            try:
                report = collect_garbage(ds, dry_run=dry_run)
            finally:
                ds.close()
        verb = "would delete" if dry_run else "deleted"
        console.print(f"{verb} {len(report.deleted)} blob(s), {report.bytes_freed} bytes; "
                      f"{report.kept_for_versions} kept because a version holds them", highlight=False)
        for digest in report.deleted[:20]:
            out.print(digest, highlight=False)
