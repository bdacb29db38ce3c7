from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, parse_options, print_json

version_app = typer.Typer(help="Dataset versions: immutable snapshots, their differences and exports.",
                          no_args_is_help=True)


@version_app.command("create")
def create(message: str = typer.Option(..., "--message", "-m", help="Why this version (recorded).")) -> None:
    """Snapshot the dataset: samples, annotation revisions, splits, frozen test set, label book."""
    from keepsight.versions import create_version, get_version

    with errors_to_exit():
        ds = open_dataset()
        try:
            label = create_version(ds, message)
            info = get_version(ds, label)
        finally:
            ds.close()
    console.print(f"created [bold]{label}[/]: {info.samples} samples, manifest {info.manifest_bytes} bytes",
                  highlight=False)


@version_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON.")) -> None:
    """Every version, oldest first."""
    from keepsight.versions import list_versions

    with errors_to_exit():
        ds = open_dataset()
        try:
            infos = list_versions(ds)
        finally:
            ds.close()
    if as_json:
        print_json([v.as_dict() for v in infos])
        return
    if not infos:
        out.print("no version yet (keepsight version create -m MESSAGE)")
    for v in infos:
        splits = ", ".join(f"{k} {n}" for k, n in sorted(v.summary.get("splits", {}).items()))
        out.print(f"{v.label}  {v.created_at:%Y-%m-%d %H:%M} UTC  {v.actor or '-'}  {v.samples} samples ({splits})  "
                  f"{v.message}", highlight=False)


@version_app.command("diff")
def diff(
    a: str = typer.Argument(..., help="The older version (v1, latest)."),
    b: str = typer.Argument("current", help="The newer version (default: the dataset as it is now)."),
    show: int = typer.Option(20, help="Items listed per kind of change."),
    as_json: bool = typer.Option(False, "--json", help="Print every change as JSON."),
) -> None:
    """Samples added and removed, annotation changes, split moves and label-book changes."""
    from keepsight.versions import diff_versions

    with errors_to_exit():
        ds = open_dataset()
        try:
            result = diff_versions(ds, a, b)
        finally:
            ds.close()
    if as_json:
        print_json(result.as_dict())
        return
    counts = {k: n for k, n in result.counts().items() if n}
    console.print(f"{a} -> {b}: " + (", ".join(f"{k.replace('_', ' ')} {n}" for k, n in counts.items())
                                     or "no change"), highlight=False)
    for title, items in (("added", result.added), ("removed", result.removed)):
        for path in items[:show]:
            out.print(f"{title:8} {path}", highlight=False)
    for move in result.split_moves[:show]:
        out.print(f"moved    {move['path']}: {move['from']} -> {move['to']}", highlight=False)
    for change in result.annotations[:show]:
        before = f"{change.before['label']} r{change.before['revision']}" if change.before else "-"
        after = f"{change.after['label']} r{change.after['revision']}" if change.after else "-"
        out.print(f"annot.   {change.path}: {change.change} {change.uid[:8]} ({before} -> {after})", highlight=False)
    for title, names in (("class +", result.classes_added), ("class -", result.classes_removed),
                         ("class ~", result.classes_changed)):
        for name in names:
            out.print(f"{title:8} {name}", highlight=False)


@version_app.command("export")
def export(
    version: str = typer.Argument(..., help="The version to export (v3, latest)."),
    dest: Path = typer.Argument(..., help="Folder to write."),
    format: str = typer.Option(..., "--format", "-f", help="yolo, coco, voc, cvat, labelme, manifest, ..."),
    strict: bool = typer.Option(False, help="Refuse any conversion that loses information."),
    overwrite: bool = typer.Option(False, help="Replace a non-empty destination."),
    split: list[str] = typer.Option(None, help="Only these splits (repeatable)."),
    option: list[str] = typer.Option(None, "--option", "-o", help="Format option key=value (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the export report as JSON."),
) -> None:
    """Export a version exactly as it was, in any format, with its split lists."""
    from keepsight.versions import export_version

    with errors_to_exit():
        ds = open_dataset()
        try:
            report = export_version(ds, version, dest, format=format, strict=strict, overwrite=overwrite,
                                    splits=split, options=parse_options(option))
        finally:
            ds.close()
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"exported {version}: [bold]{report.samples}[/] samples as {report.format} to {report.dest}",
                  highlight=False)
    for what, count in report.losses.items():
        console.print(f"[yellow]warning[/]: {count} x {what}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(version_app, name="version")
