"""``keepsight remote ...``: use a keepsight service through its REST API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, out, print_json, progress_bar
from keepsight.errors import DatasetError
from keepsight.storage.blobs import atomic_write_bytes


def config_path() -> Path:
    """Where the login is kept: $KEEPSIGHT_REMOTE_CONFIG or ~/.config/keepsight/remote.json (mode 0600)."""
    given = os.environ.get("KEEPSIGHT_REMOTE_CONFIG")
    return Path(given) if given else Path.home() / ".config" / "keepsight" / "remote.json"


def _load() -> dict[str, str]:
    path = config_path()
    if not path.exists():
        raise DatasetError("not signed in to a service; run 'keepsight remote login URL --user NAME'", path=path)
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _client():  # type: ignore[no-untyped-def]
    from keepsight.service.client import RemoteClient

    saved = _load()
    return RemoteClient(saved["url"], saved["token"], state_file=config_path().with_name("remote-uploads.json"))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    out.print(table)


def register(app: typer.Typer) -> None:
    remote = typer.Typer(help="Use a keepsight service (keepsight serve) through its REST API.", no_args_is_help=True)
    app.add_typer(remote, name="remote")

    @remote.command("login")
    def login(
        url: str = typer.Argument(..., help="The service, e.g. http://annotation.example:8765"),
        user: str = typer.Option(..., "--user", "-u", help="Your user name."),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    ) -> None:
        """Sign in and remember the token for the other remote commands."""
        from keepsight.service.client import RemoteClient

        with errors_to_exit():
            password = sys.stdin.readline().rstrip("\n") if password_stdin else typer.prompt("password", hide_input=True)
            with RemoteClient(url) as client:
                body = client.login(user, password)
            path = config_path()
            atomic_write_bytes(path, json.dumps({"url": url, "user": user, "token": body["token"]}).encode("utf-8"),
                               mode=0o600)
        console.print(f"signed in to {url} as [bold]{user}[/] ({body['role']})", highlight=False)

    @remote.command("logout")
    def logout() -> None:
        """Revoke the remembered token and forget it."""
        with errors_to_exit():
            with _client() as client:
                client.request("POST", "/auth/logout")
            config_path().unlink()
        console.print("signed out")

    @remote.command("whoami")
    def whoami() -> None:
        with errors_to_exit(), _client() as client:
            me = client.request("GET", "/auth/me")
        console.print(f"{me['user']} ({me['role']}) on {me['dataset']}", highlight=False)

    @remote.command("tasks")
    def tasks(as_json: bool = typer.Option(False, "--json", help="Print the tasks as JSON.")) -> None:
        """The service's annotation tasks."""
        with errors_to_exit(), _client() as client:
            rows = client.tasks()
        if as_json:
            print_json(rows)
            return
        _table([r | {"jobs": ", ".join(f"{k} {v}" for k, v in r["jobs"].items())} for r in rows],
               ["id", "name", "state", "jobs", "deadline", "created_by"])

    @remote.command("create-task")
    def create_task(
        name: str = typer.Argument(..., help="What the task is called."),
        query: str = typer.Option(..., "--query", help='The images, as JSON: {"kind": "unannotated"}, '
                                  '{"kind": "audit", "run_id": "..."}, {"kind": "samples", "paths": [...]} ...'),
        job_size: int = typer.Option(None, "--job-size", help="Images per job."),
        consensus_share: float = typer.Option(0.0, "--consensus-share", help="Share labelled blind by several."),
        consensus_annotators: int = typer.Option(2, "--consensus-annotators"),
        gold_per_job: int = typer.Option(0, "--gold-per-job"),
        deadline: str = typer.Option(None, "--deadline", help="ISO date-time."),
        assign: bool = typer.Option(False, "--assign", help="Hand the jobs out to the least-loaded annotators."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Create a task from a query, split into jobs."""
        with errors_to_exit():
            try:
                parsed = json.loads(query)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"--query is not JSON: {exc}") from None
            spec = {"name": name, "query": parsed, "job_size": job_size, "consensus_share": consensus_share,
                    "consensus_annotators": consensus_annotators, "gold_per_job": gold_per_job, "deadline": deadline,
                    "assign": "load" if assign else "none"}
            with _client() as client:
                task = client.create_task({k: v for k, v in spec.items() if v is not None})
        if as_json:
            print_json(task)
            return
        console.print(f"task {task['id']} created: {sum(task['jobs'].values())} jobs", highlight=False)

    @remote.command("jobs")
    def jobs(
        task: int = typer.Option(None, "--task", help="Only this task's jobs."),
        state: str = typer.Option(None, "--state", help="new | in_progress | submitted | accepted | rejected"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Jobs (an annotator sees only their own)."""
        with errors_to_exit(), _client() as client:
            rows = client.jobs(task_id=task, state=state)
        if as_json:
            print_json(rows)
            return
        _table(rows, ["id", "task_id", "state", "assignee", "images", "deadline", "overdue"])

    @remote.command("upload")
    def upload(
        files: list[Path] = typer.Argument(..., help="Images or .zip archives."),
        path: str = typer.Option(None, "--path", help="Sample path in the dataset (one file only)."),
        split: str = typer.Option(None, "--split", help="Put the images in this split."),
        format: str = typer.Option(None, "--format", "-f", help="Format of a zip's content (default: detected)."),
        chunk_mb: float = typer.Option(8.0, "--chunk-mb", help="Chunk size in MiB."),
        as_json: bool = typer.Option(False, "--json", help="Print the import reports as JSON."),
    ) -> None:
        """Upload resumably (tus, sha256 per chunk); rerun the same command to resume an interrupted upload."""
        with errors_to_exit():
            if path and len(files) > 1:
                raise DatasetError("--path names one sample: upload one file at a time with it")
            reports = []
            with _client() as client:
                for file in files:
                    if not file.is_file():
                        raise DatasetError("no such file", path=file)
                    with progress_bar(f"uploading {file.name}") as bar:
                        result = client.upload(file, target=path, split=split, format=format,
                                               chunk_size=max(1, int(chunk_mb * 1024 * 1024)), progress=bar)
                    reports.append(result)
                    if not as_json:
                        report = result.get("result") or {}
                        console.print(f"{file.name}: {result['state']}, {report.get('added', 0)} added, "
                                      f"{report.get('unchanged', 0)} already present", highlight=False)
        if as_json:
            print_json(reports)

    @remote.command("export")
    def export(
        format: str = typer.Option(..., "--format", "-f", help="Export format (coco, yolo, voc, ...)."),
        dest: Path = typer.Option(..., "--out", "-o", help="Where to save the zip."),
        split: list[str] = typer.Option(None, "--split", help="Only this split (repeatable)."),
        strict: bool = typer.Option(False, "--strict", help="Fail rather than lose information."),
    ) -> None:
        """Have the service export the dataset, then download the zip through its signed link."""
        with errors_to_exit(), _client() as client:
            made = client.export(format, splits=split or None, strict=strict)
            with progress_bar(f"downloading {dest.name}") as bar:
                digest = client.download(made["url"], dest, progress=bar)
        console.print(f"{dest}: {made['report']['samples']} samples, sha256 {digest} verified", highlight=False)

    @remote.command("download")
    def download(
        link: str = typer.Argument(..., help="A signed link (from an export), absolute or relative to the service."),
        dest: Path = typer.Option(..., "--out", "-o"),
    ) -> None:
        """Download a signed link and verify its sha256 (no account needed while the link is valid)."""
        from keepsight.service.client import RemoteClient

        with errors_to_exit():
            base = _load()["url"] if not link.startswith(("http://", "https://")) else link
            with RemoteClient(base) as client, progress_bar(f"downloading {dest.name}") as bar:
                digest = client.download(link, dest, progress=bar)
        console.print(f"{dest}: sha256 {digest} verified", highlight=False)
