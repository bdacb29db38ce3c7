from __future__ import annotations

from datetime import UTC, datetime

import typer

from keepsight.cli.common import errors_to_exit, open_dataset, out, print_json


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"--since expects an ISO date or time (2026-03-01, 2026-03-01T14:00), got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    @app.command("log")
    def log(
        sample: str = typer.Option(None, help="Only the changes of this sample path."),
        action: str = typer.Option(None, help="Only this action or family: split, split.move, sample.remove, "
                                              "annotation, version, model, test, import, gc..."),
        actor: str = typer.Option(None, help="Only the changes made by this user."),
        since: str = typer.Option(None, help="Only changes from this date or time on (ISO, UTC by default)."),
        limit: int = typer.Option(50, help="Newest entries shown (0 = all)."),
        as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
    ) -> None:
        """The change log: who changed what, when and why (newest first)."""
        from keepsight.versions import change_log

        with errors_to_exit():
            ds = open_dataset()
            try:
                entries = change_log(ds, sample=sample, action=action, actor=actor, since=_since(since),
                                     limit=limit or None)
            finally:
                ds.close()
        if as_json:
            print_json([e.as_dict() for e in entries])
            return
        if not entries:
            out.print("no change recorded")
        for e in entries:
            details = _short(e.action, e.details)
            why = f"  because: {e.reason}" if e.reason else ""
            out.print(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor or '-':12}  {e.action:18} {e.target or ''}"
                      f"{details}{why}", highlight=False)


def _short(action: str, details: dict[str, object]) -> str:
    if action == "split.move":
        return f" ({details.get('from')} -> {details.get('to')})"
    if action.startswith("annotation."):
        before = details.get("previous_label")
        label = details.get("label")
        return f" ({before} -> {label})" if before and before != label else f" ({label})"
    if action == "import":
        return f" ({details.get('added', 0)} added)"
    return ""
