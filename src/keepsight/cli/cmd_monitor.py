from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import typer

from keepsight.cli.cmd_drift import drift_config, print_alarm, print_request, print_summary, print_window, write_outputs
from keepsight.cli.common import console, errors_to_exit, open_dataset, progress_bar


def register(app: typer.Typer) -> None:
    @app.command("monitor")
    def monitor(
        watch: Path = typer.Option(..., "--watch", help="The folder new production images arrive in."),
        poll: float = typer.Option(1.0, help="Seconds between two looks at the folder."),
        settle: int = typer.Option(2, help="Polls a file's size must stay unchanged before it is read."),
        give_up: float = typer.Option(120.0, help="Seconds a file may stay undecodable before it is reported bad."),
        recursive: bool = typer.Option(False, help="Also watch sub-folders."),
        include_existing: bool = typer.Option(False, help="Also observe the images already in the folder."),
        window: int = typer.Option(None, help="Images per window (default: drift.window.size)."),
        step: int = typer.Option(None, help="Images between windows (default: drift.window.step)."),
        seconds: float = typer.Option(None, help="Time windows of this many seconds instead of counts."),
        max_images: int = typer.Option(None, help="Stop after this many images."),
        idle_exit: float = typer.Option(None, help="Stop when no image arrived for this many seconds."),
        json_file: Path = typer.Option(None, "--json", help="On exit, write windows, tests and alarms as JSON."),
        html_file: Path = typer.Option(None, "--html", help="On exit, write the HTML drift report."),
    ) -> None:
        """Follow a folder as images arrive: test each window, raise alarms, fire retraining policies (Ctrl-C stops)."""
        from keepsight.drift.monitor import Monitor
        from keepsight.drift.reference import reference_for
        from keepsight.drift.watcher import FolderWatcher

        stop = threading.Event()
        with errors_to_exit():
            ds = open_dataset()
            try:
                config = drift_config(ds.config.drift, window=window, step=step, seconds=seconds)
                with progress_bar("profiling training images") as progress:
                    reference = reference_for(ds, config=config, progress=progress)
                mon = Monitor(ds, config=config, reference=reference, source=str(watch), on_window=print_window,
                              on_alarm=print_alarm, on_request=print_request)

                def on_image(path: Path, data: bytes) -> None:
                    mon.observe(data, name=str(path.relative_to(watch)), source=path)

                def on_bad(path: Path, reason: str) -> None:
                    mon.skip(str(path), reason)
                    console.print(f"[yellow]skipped[/] {path}: {reason}", highlight=False)

                def on_poll() -> None:
                    mon.tick()  # time windows and schedule policies advance even when no image arrives

                watcher = FolderWatcher(watch, on_image, on_bad=on_bad, on_poll=on_poll, poll_seconds=poll,
                                        settle_polls=settle, give_up_seconds=give_up, recursive=recursive,
                                        include_existing=include_existing, max_pixels=ds.config.ingest.max_pixels)

                def request_stop(signum: int, frame: Any) -> None:
                    stop.set()

                previous = signal.signal(signal.SIGTERM, request_stop)
                console.print(f"watching {watch} (reference version {reference.version}); Ctrl-C to stop",
                              highlight=False)
                try:
                    watcher.run(stop=stop, max_images=max_images, idle_seconds=idle_exit)
                except KeyboardInterrupt:
                    console.print("stopping")
                finally:
                    signal.signal(signal.SIGTERM, previous)
                body = mon.finish().as_dict()
                print_summary(body)
                write_outputs(ds, body, json_file, html_file)
            finally:
                ds.close()
