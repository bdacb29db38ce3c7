"""``keepsight serve`` and ``keepsight user ...``: run the team service and manage its accounts."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from keepsight.cli.common import console, errors_to_exit, open_dataset, out, print_json
from keepsight.errors import DatasetError


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise DatasetError("no password on standard input")
        return password
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(None, help="Interface to listen on (default: service.host, 127.0.0.1)."),
        port: int = typer.Option(None, help="TCP port (default: service.port, 8765)."),
        workers: int = typer.Option(None, min=1, help="Worker processes behind the port (default: service.workers, 1)."),
    ) -> None:
        """Run the team service over the dataset: REST API (docs at /docs) and the annotation page."""
        from keepsight.service import admin
        from keepsight.service.server import serve as run

        with errors_to_exit():
            ds = open_dataset()
            settings = ds.config.service
            if admin.count_admins(ds) == 0:
                console.print("[yellow]no admin account yet[/]: create one with "
                              "'keepsight user add NAME --role admin'", highlight=False)
            host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
            processes = f", {workers} worker processes" if workers > 1 else ""
            console.print(f"serving [bold]{ds.config.name}[/] on http://{host}:{port} (API docs at /docs{processes})",
                          highlight=False)
            root = ds.root
            ds.close()  # the server opens the dataset itself, once per worker
            run(root, host=host, port=port, workers=workers)

    users = typer.Typer(help="Accounts of the team service (works without a running server).",
                        no_args_is_help=True)
    app.add_typer(users, name="user")

    @users.command("add")
    def add(
        name: str = typer.Argument(..., help="User name (letters, digits, '-', '_', '.')."),
        role: str = typer.Option(..., "--role", help="admin | manager | reviewer | annotator | viewer"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
        no_password: bool = typer.Option(False, "--no-password", help="An account that signs in by API token only."),
    ) -> None:
        """Create an account with a role in this dataset (the way to make the first admin)."""
        from keepsight.service import admin

        with errors_to_exit():
            password = None if no_password else _read_password(password_stdin)
            ds = open_dataset()
            try:
                admin.add_user(ds, name, role=role, password=password)  # type: ignore[arg-type]
            finally:
                ds.close()
        console.print(f"user [bold]{name}[/] added as {role}", highlight=False)

    @users.command("list")
    def list_(as_json: bool = typer.Option(False, "--json", help="Print the accounts as JSON.")) -> None:
        """The accounts of this dataset and their roles."""
        from keepsight.service import admin

        with errors_to_exit():
            ds = open_dataset()
            rows = admin.list_users(ds)
            ds.close()
        if as_json:
            print_json([{k: r[k] for k in ("name", "role", "active")} for r in rows])
            return
        table = Table("name", "role", "active")
        for r in rows:
            table.add_row(r["name"], r["role"], "yes" if r["active"] else "no")
        out.print(table)

    @users.command("set")
    def set_(
        name: str = typer.Argument(...),
        role: str = typer.Option(None, "--role", help="A new role."),
        active: bool = typer.Option(None, "--active/--disabled", help="Enable or disable the account."),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="Read a new password from standard input."),
    ) -> None:
        """Change an account's role, password or whether it is active (disabling ends its tokens)."""
        from keepsight.service import admin

        with errors_to_exit():
            password = _read_password(True) if password_stdin else None
            ds = open_dataset()
            try:
                admin.set_user(ds, name, role=role, active=active, password=password)  # type: ignore[arg-type]
            finally:
                ds.close()
        console.print(f"user [bold]{name}[/] updated", highlight=False)

    @users.command("token")
    def token(
        name: str = typer.Argument(..., help="The user the token acts as."),
        token_name: str = typer.Option("cli", "--name", help="What the token is for."),
        days: float = typer.Option(None, "--days", help="Lifetime in days (default: until revoked)."),
    ) -> None:
        """Print a new API token for scripts (shown once; only its hash is stored)."""
        from keepsight.service import admin

        with errors_to_exit():
            ds = open_dataset()
            try:
                value, expires = admin.issue_api_token(ds, name, token_name=token_name, days=days)
            finally:
                ds.close()
        out.print(value, highlight=False)
        if expires is not None:
            console.print(f"expires {expires:%Y-%m-%d %H:%M} UTC", highlight=False)
