from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, print_json
from keepsight.errors import DatasetError

model_app = typer.Typer(help="Lineage: which dataset version and split each model was trained on.",
                        no_args_is_help=True)


def _metrics(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError("metrics file not found", path=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"metrics file is not JSON: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise DatasetError("metrics file must hold a JSON object (name -> value)", path=path)
    return data


@model_app.command("register")
def register_cmd(
    name: str = typer.Argument(..., help="The model's name."),
    version: str = typer.Option(..., "--version", "-v", help="The dataset version it was trained on (v3, latest)."),
    metrics: Path = typer.Option(None, help="A JSON file of its metrics ({\"map50\": 0.81, ...})."),
    train_split: str = typer.Option("train", help="The split it was trained on."),
    as_json: bool = typer.Option(False, "--json", help="Print the record as JSON."),
) -> None:
    """Record which dataset version and split a model was trained on."""
    from keepsight.versions import register_model

    with errors_to_exit():
        ds = open_dataset()
        try:
            record = register_model(ds, name, version=version, metrics=_metrics(metrics), train_split=train_split)
        finally:
            ds.close()
    if as_json:
        print_json(record)
        return
    console.print(f"registered {record['name']} on {record['version']} ({record['train_split']}: "
                  f"{record['details']['trained_samples']} samples)", highlight=False)


@model_app.command("list")
def list_cmd(
    version: str = typer.Option(None, "--version", "-v", help="Only the models trained on this version."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """The registered models, oldest first."""
    from keepsight.versions import list_models, models_for_version

    with errors_to_exit():
        ds = open_dataset()
        try:
            records = models_for_version(ds, version) if version else list_models(ds)
        finally:
            ds.close()
    _print(records, as_json)


@model_app.command("affected")
def affected_cmd(
    paths: list[str] = typer.Argument(..., help="Sample paths (e.g. those an audit flagged)."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """The models whose training split held any of these samples."""
    from keepsight.versions import models_trained_on

    with errors_to_exit():
        ds = open_dataset()
        try:
            records = models_trained_on(ds, paths)
        finally:
            ds.close()
    _print(records, as_json)


def _print(records: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print_json(records)
        return
    if not records:
        out.print("no model")
    for r in records:
        metrics = ", ".join(f"{k}={v}" for k, v in r["metrics"].items())
        held = f"  holds {len(r['samples'])} of them" if "samples" in r else ""
        out.print(f"{r['name']}  {r['version']}/{r['train_split']}  {r['registered_at'][:16]}  {r['actor'] or '-'}"
                  f"  {metrics}{held}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
