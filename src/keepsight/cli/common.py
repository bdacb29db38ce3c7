"""Shared CLI plumbing: the dataset option, error mapping, progress bars, option parsing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from keepsight.dataset import Dataset
from keepsight.errors import KeepsightError

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class State:
    dataset_dir: Path = Path(os.environ.get("KEEPSIGHT_DATASET", "."))
    dataset_given: bool = "KEEPSIGHT_DATASET" in os.environ  # named by the user, not the default folder


state = State()


def open_dataset() -> Dataset:
    return Dataset.open(state.dataset_dir)


def fail(error: KeepsightError) -> None:
    console.print(f"[bold red]error[/]: {error.message}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    try:
        yield
    except KeepsightError as exc:
        fail(exc)


@contextmanager
def progress_bar(description: str) -> Iterator[Any]:
    """A Rich progress bar; yields a ``progress(done, total)`` callback."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON when they parse (numbers, lists, maps)."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def print_json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))
