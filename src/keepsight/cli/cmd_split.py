from __future__ import annotations

import typer
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, print_json, progress_bar
from keepsight.splits.assign import SPLIT_NAMES
from keepsight.splits.report import SplitReport


def register(app: typer.Typer) -> None:
    @app.command("split")
    def split(
        ratios: str = typer.Option("70/15/15", help="train/val/test shares, e.g. 70/15/15 or 80/20 (train/test)."),
        stratify: str = typer.Option("class", help="class | verdict | none | a metadata KEY."),
        group: list[str] = typer.Option(None, help="auto | none | KEY | path:REGEX (repeatable; default auto)."),
        seed: int = typer.Option(0, help="Random seed: the same seed and data give the same split."),
        keep_assigned: bool = typer.Option(False, help="Place only samples in no split yet; the others stay."),
        freeze_test: bool = typer.Option(False, help="Freeze the test set after splitting: no later split moves it."),
        repair: bool = typer.Option(False, help="Remove the leaks of the current split with the fewest moves."),
        from_file: list[str] = typer.Option(None, help="Apply a shipped split: FILE (.json/.jsonl/.csv/.tsv) or "
                                                       "LIST=SPLIT (repeatable)."),
        path_field: str = typer.Option(None, help="--from-file records: the field naming the image."),
        split_field: str = typer.Option(None, help="--from-file records: the field naming the split."),
        reason: str = typer.Option(None, help="Why (recorded with every move)."),
        dry_run: bool = typer.Option(False, help="Show what would move; change nothing."),
        show: int = typer.Option(20, help="Moves listed in the terminal (all are in --json and the saved run)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Split into train/val/test keeping object groups whole (or --repair, or --from-file)."""
        from keepsight.splits import apply_split_file, repair_split, split_dataset

        if repair and from_file:
            raise typer.BadParameter("--repair and --from-file are separate steps: apply the file, then repair")
        with errors_to_exit():
            ds = open_dataset()
            try:
                with progress_bar("grouping") as progress:
                    if repair:
                        report = repair_split(ds, group=group or ["auto"], reason=reason, dry_run=dry_run,
                                              progress=progress)
                    elif from_file:
                        report = apply_split_file(ds, from_file, path_field=path_field, split_field=split_field,
                                                  group=group or None, reason=reason, dry_run=dry_run,
                                                  progress=progress)
                    else:
                        report = split_dataset(ds, ratios=ratios, stratify=stratify, group=group or ["auto"],
                                               seed=seed, keep_assigned=keep_assigned, freeze_test=freeze_test,
                                               reason=reason, dry_run=dry_run, progress=progress)
            finally:
                ds.close()
        if as_json:
            print_json(report.as_dict())
            return
        show_report(report, show)

    @app.command("test")
    def test(
        action: str = typer.Argument(..., help="freeze | release | show"),
        paths: list[str] = typer.Argument(None, help="release: the sample paths to take out of the frozen set."),
        reason: str = typer.Option(None, help="Why (required to release)."),
        everything: bool = typer.Option(False, "--all", help="release: the whole frozen test set."),
    ) -> None:
        """The frozen test set: freeze it, release samples from it (with a reason), or show it."""
        from keepsight.splits import freeze_test, frozen_test_info, release_test

        if action not in ("freeze", "release", "show"):
            raise typer.BadParameter("expected freeze, release or show")
        with errors_to_exit():
            ds = open_dataset()
            try:
                if action == "freeze":
                    added = freeze_test(ds, reason=reason)
                    console.print(f"test set frozen: {added} sample(s) added", highlight=False)
                elif action == "release":
                    released = release_test(ds, paths or [], reason=reason or "", everything=everything)
                    console.print(f"released {len(released)} sample(s) from the frozen test set", highlight=False)
                    for path in released[:50]:
                        out.print(path, highlight=False)
                else:
                    info = frozen_test_info(ds)
                    if info.samples:
                        out.print(f"frozen test set: {info.samples} samples (frozen {info.first_frozen_at:%Y-%m-%d %H:%M}"
                                  f" .. {info.last_frozen_at:%Y-%m-%d %H:%M} UTC)", highlight=False)
                    else:
                        out.print("no frozen test set", highlight=False)
            finally:
                ds.close()


def show_report(report: SplitReport, show: int) -> None:
    verb = "would move" if report.dry_run else "moved"
    console.print(f"{report.action}: {verb} {len(report.moves)} sample(s)"
                  + (f"; saved as run {report.run_id}" if report.run_id else ""), highlight=False)
    for move in report.moves[:show]:
        out.print(f"  {move.path}: {move.source} -> {move.target}", highlight=False)
    if len(report.moves) > show:
        out.print(f"  ... {len(report.moves) - show} more (--json, or the run's moves.json)", highlight=False)
    table = Table(title="samples per split", show_edge=False)
    for column in ("", *SPLIT_NAMES, "unassigned"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("samples", *(str(report.counts.get(s, 0)) for s in (*SPLIT_NAMES, "unassigned")))
    table.add_row("share", *(f"{report.ratios_achieved[s]:.1%}" for s in SPLIT_NAMES), "")
    if report.ratios_target:
        table.add_row("target", *(f"{report.ratios_target[s]:.1%}" for s in SPLIT_NAMES), "")
    for label, counts in {**report.per_class, **(report.per_stratum or {})}.items():
        table.add_row(label, *(str(counts.get(s, 0)) for s in (*SPLIT_NAMES, "unassigned")))
    out.print(table)
    if report.groups:
        out.print(f"{report.groups} object groups of 2+ samples ({report.grouped_samples} samples, largest "
                  f"{report.largest_group}); groups spread over several splits: {report.straddling_before} before, "
                  f"{report.straddling_after} after", highlight=False)
    if report.frozen_test:
        out.print(f"frozen test set: {report.frozen_test} samples", highlight=False)
    for key in ("unmatched", "ambiguous", "kept_in_frozen_test"):
        value = report.details.get(key)
        if value:
            out.print(f"{key.replace('_', ' ')}: {value if isinstance(value, int) else len(value)}", highlight=False)
