"""The ``keepsight`` command: a thin layer over the Python API, one module per command."""

from __future__ import annotations

from pathlib import Path

import typer

from keepsight.cli import (
    cmd_audit,
    cmd_curve,
    cmd_demo,
    cmd_detect,
    cmd_drift,
    cmd_export,
    cmd_import,
    cmd_info,
    cmd_init,
    cmd_log,
    cmd_model,
    cmd_monitor,
    cmd_remote,
    cmd_remove,
    cmd_serve,
    cmd_similar,
    cmd_split,
    cmd_version,
)
from keepsight.cli.common import state

app = typer.Typer(
    name="keepsight",
    help="Keep the training dataset of a machine-vision inspection model healthy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(
    dataset: Path = typer.Option(
        None, "--dataset", "-d", envvar="KEEPSIGHT_DATASET",
        help="The dataset folder (default: the current folder).",
    ),
) -> None:
    # Set on every invocation: an earlier in-process call (a test, a script) must not leak its -d into this one.
    state.dataset_dir = dataset if dataset is not None else Path(".")
    state.dataset_given = dataset is not None


for module in (cmd_init, cmd_import, cmd_export, cmd_detect, cmd_info, cmd_similar, cmd_demo, cmd_audit, cmd_serve,
               cmd_remote, cmd_split, cmd_version, cmd_log, cmd_model, cmd_remove, cmd_curve,
               cmd_drift, cmd_monitor):
    module.register(app)


def main() -> None:
    """Entry point: bad input never shows a traceback; a bug shows one line unless debugging."""
    import os
    import sys

    try:
        app()
    except Exception as exc:  # noqa: BLE001 - last resort, re-raised when debugging
        if os.environ.get("KEEPSIGHT_DEBUG"):
            raise
        from keepsight.cli.common import console

        console.print(f"[bold red]internal error[/]: {type(exc).__name__}: {exc} "
                      "(set KEEPSIGHT_DEBUG=1 for the traceback, and please report it)", highlight=False)
        sys.exit(70)
