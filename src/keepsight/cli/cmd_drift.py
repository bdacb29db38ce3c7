from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, print_json, progress_bar
from keepsight.storage.blobs import atomic_write_bytes

_STYLE = {"new_content": "bold red", "camera_moved": "magenta", "illumination": "yellow", "focus_or_wear": "red"}


def drift_config(base: Any, *, window: int | None, step: int | None, seconds: float | None) -> Any:
    """The dataset's drift config with the window options of the command line applied (validated)."""
    from keepsight.drift.config import WindowConfig

    if window is None and step is None and seconds is None:
        return base
    current = base.window.model_dump()
    if window is not None:
        current["size"] = window
        current["step"] = step if step is not None else min(current["step"] or window, window)
    elif step is not None:
        current["step"] = step
    if seconds is not None:
        current["seconds"] = seconds
    try:
        return base.model_copy(update={"window": WindowConfig(**current)})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def print_window(window: Any) -> None:
    if window.status != "tested":
        out.print(f"window {window.index} (images {window.first}-{window.last}): {window.images} images, too few to test",
                  highlight=False)
        return
    if not window.drifted:
        out.print(f"window {window.index} (images {window.first}-{window.last}): no drift", highlight=False)
        return
    first, *rest = window.explanations
    style = _STYLE.get(first.category, "bold")
    out.print(f"window {window.index} (images {window.first}-{window.last}): [{style}]{first.message}[/]", highlight=False)
    for e in rest:
        out.print(f"    also {e.message}", highlight=False)


def print_alarm(alarm: Any) -> None:
    from keepsight.drift.lineage import model_names

    models = ", ".join(model_names(alarm.models)) or "no registered models"
    console.print(f"[bold red]ALARM {alarm.id}[/] {alarm.message} (dataset version {alarm.version}; models: {models})",
                  highlight=False)


def print_request(request: Any) -> None:
    body = request.body
    acts = ", ".join(f"{a['kind']} {'ok' if a['ok'] else 'FAILED'} ({a['detail']})" for a in body["actions"]) or "none"
    console.print(f"[bold]retraining request {request.id}[/] by policy {body['policy']}: {body['reason']}; "
                  f"{len(body['proposal']['add'])} images to annotate; actions: {acts}", highlight=False)


def write_outputs(ds: Any, session: dict[str, Any], json_file: Path | None, html_file: Path | None) -> None:
    from keepsight.drift.html import write_html
    from keepsight.drift.report import scene_png

    if json_file is not None:
        body = json.dumps(session, indent=1, default=str)
        if str(json_file) == "-":
            out.print_json(body)
        else:
            atomic_write_bytes(json_file, body.encode("utf-8"))
            console.print(f"JSON report: {json_file}", highlight=False)
    if html_file is not None:
        write_html(session, html_file, scene_png=scene_png(ds, session["reference"]["version"]))
        console.print(f"HTML report: {html_file}", highlight=False)


def print_summary(session: dict[str, Any]) -> None:
    s = session["summary"]
    console.print(f"{session['images']} images, {s['windows']} windows, {s['drifted_windows']} drifted, "
                  f"{s['alarms']} alarms ({', '.join(s['categories']) or 'none'}), {s['requests']} retraining requests; "
                  f"run {session['run']}", highlight=False)


def register(app: typer.Typer) -> None:
    drift = typer.Typer(help="Compare production images with the training reference, explain drift, request retraining.",
                        no_args_is_help=True)
    app.add_typer(drift, name="drift")

    @drift.command("reference")
    def reference(
        rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild even when the stored profile is current."),
        as_json: bool = typer.Option(False, "--json", help="Print the profile summary as JSON."),
    ) -> None:
        """Build (or show) the reference profile of the training split, stored with the dataset version."""
        from keepsight.drift.reference import reference_for

        with errors_to_exit():
            ds = open_dataset()
            with progress_bar("profiling training images") as progress:
                profile = reference_for(ds, progress=progress, rebuild=rebuild)
            ds.close()
        summary = profile.summary()
        if as_json:
            print_json(summary)
            return
        scene = summary["scene"]
        out.print(f"reference of version {summary['version']}: {summary['images']} training images; scene "
                  + (f"applicable (median registration quality {scene['median_quality']:.2f})" if scene["applicable"]
                     else "not applicable (training images do not share one camera view)"), highlight=False)
        for name, st in summary["statistics"].items():
            out.print(f"  {name:<13} median {st['median']:.4g}  (5-95%: {st['p05']:.4g} .. {st['p95']:.4g})",
                      highlight=False)

    @drift.command("check")
    def check(
        folder: Path = typer.Argument(..., help="A folder of production images (searched recursively)."),
        window: int = typer.Option(None, help="Images per window (default: drift.window.size)."),
        step: int = typer.Option(None, help="Images between windows (default: drift.window.step)."),
        seconds: float = typer.Option(None, help="Time windows of this many seconds (file modification times)."),
        order: str = typer.Option("name", help="Stream order: name | mtime."),
        predictions: Path = typer.Option(None, help='JSON {"image name": {"label": ..., "confidence": ...}}.'),
        json_file: Path = typer.Option(None, "--json", help="Write windows, tests and alarms as JSON ('-' = stdout)."),
        html_file: Path = typer.Option(None, "--html", help="Write the HTML drift report."),
        fail_on_alarm: bool = typer.Option(False, help="Exit with code 1 when any alarm was raised."),
    ) -> None:
        """Check a batch of production images for drift against the training reference."""
        from keepsight.drift.check import drift_check, load_predictions
        from keepsight.drift.reference import reference_for

        if order not in ("name", "mtime"):
            raise typer.BadParameter("--order must be name or mtime")
        with errors_to_exit():
            ds = open_dataset()
            try:
                config = drift_config(ds.config.drift, window=window, step=step, seconds=seconds)
                preds = load_predictions(predictions) if predictions else None
                with progress_bar("profiling training images") as progress:
                    reference_for(ds, config=config, progress=progress)
                with progress_bar(f"checking {folder}") as progress:
                    session = drift_check(ds, folder, config=config, predictions=preds, order=order,
                                          progress=progress)
                body = session.as_dict()
                quiet = json_file is not None and str(json_file) == "-"
                if not quiet:
                    for w in session.windows:
                        if w.drifted:
                            print_window(w)
                    for a in session.alarms:
                        print_alarm(a)
                    for r in session.requests:
                        print_request(r)
                    print_summary(body)
                write_outputs(ds, body, json_file, html_file)
            finally:
                ds.close()
        raise typer.Exit(1 if fail_on_alarm and session.alarms else 0)

    @drift.command("requests")
    def requests(
        request_id: str = typer.Argument(None, help="Show this request in full (default: list them all)."),
        as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """Retraining requests recorded when a policy fired."""
        from keepsight.drift.requests import list_requests, load_request

        with errors_to_exit():
            ds = open_dataset()
            items = [load_request(ds, request_id)] if request_id else list_requests(ds)
            ds.close()
        if as_json or request_id:
            print_json([r.as_dict() for r in items] if not request_id else items[0].as_dict())
            return
        out.print(f"{len(items)} retraining requests", highlight=False)
        for r in items:
            b, prop = r.body, r.body["proposal"]
            acts = ", ".join(f"{a['kind']} {'ok' if a['ok'] else 'failed'}" for a in b["actions"]) or "no actions"
            out.print(f"{r.id}  {b['at'][:19]}  {b['policy']} (version {b['dataset_version']}): {b['reason']}; "
                      f"add {len(prop['add'])}, re-annotate {len(prop['re_annotate'])}, remove {len(prop['remove'])}; "
                      f"{acts}", highlight=False)

    @drift.command("report")
    def report(
        run_id: str = typer.Argument(None, help="A drift run id (default: the newest)."),
        json_file: Path = typer.Option(None, "--json", help="Write the session JSON ('-' = stdout)."),
        html_file: Path = typer.Option(None, "--html", help="Write the HTML drift report."),
    ) -> None:
        """Report a saved drift run again (also one that is still running)."""
        from keepsight.drift.report import load_session

        with errors_to_exit():
            ds = open_dataset()
            try:
                session = load_session(ds, run_id)
                if json_file is None and html_file is None:
                    print_summary(session)
                    for a in session["alarms"]:
                        out.print(f"alarm {a['id']}: {a['message']} (images {a['first_image']}-{a['last_image']})",
                                  highlight=False)
                write_outputs(ds, session, json_file, html_file)
            finally:
                ds.close()

    @drift.command("policies")
    def policies(
        evaluate: bool = typer.Option(False, "--evaluate", help="Fire the schedule and annotated-count policies that are due."),
        as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    ) -> None:
        """The retraining policies of keepsight.yaml and their state (streaks, last firing, next due)."""
        from keepsight.drift.policies import PolicyEngine
        from keepsight.drift.requests import evaluate_due
        from keepsight.drift.windows import system_clock

        with errors_to_exit():
            ds = open_dataset()
            try:
                fired = evaluate_due(ds, clock=system_clock) if evaluate else []
                rows = PolicyEngine(ds, list(ds.config.drift.policies), clock=system_clock).describe()
            finally:
                ds.close()
        for r in fired:
            print_request(r)
        if as_json:
            print_json(rows)
            return
        if not rows:
            out.print("no policies: add them under drift.policies in keepsight.yaml (see docs/drift.md)")
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in ("name", "kind")}
            out.print(f"{row['name']} ({row['kind']}): " + ", ".join(f"{k}={v}" for k, v in extra.items()),
                      highlight=False)
