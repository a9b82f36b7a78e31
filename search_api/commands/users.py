"""CLI: gongkai users — accounts, API keys and the audit log, run on the server's database.

Whoever can run these commands can read the database, so they need no login; each change is
recorded in the audit log as ``cli:<os user>``. There is no default admin or password: the
first admin comes from ``gongkai users create-admin NAME``.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gongkai.accounts import AccountStore, Role, User
from gongkai.database import create_database_engine
from search_api.commands import settings_from

app = typer.Typer(
    help="Users, roles, API keys and the audit log. API keys are printed once, at creation; "
    "only their hash is stored.",
    no_args_is_help=True,
)

err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
PasswordOption = Annotated[
    bool, typer.Option("--password", help="Also set a password for web login (prompted).")
]
StdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (scripts)."
    ),
]


def store(ctx: typer.Context) -> AccountStore:
    settings = settings_from(ctx)
    return AccountStore(
        create_database_engine(settings), session_lifetime=settings.session_lifetime
    )


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def read_password(ask: bool, from_stdin: bool) -> str | None:
    """The new password from stdin or a hidden, confirmed prompt; None when not asked for."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if ask:
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return None


def show_new_key(user: str, api_key: str, as_json: bool, extra: dict[str, object]) -> None:
    if as_json:
        typer.echo(json.dumps({"user": user, "api_key": api_key, **extra}, ensure_ascii=False))
        return
    err.print(f"API key for [bold]{user}[/] (shown only now; store it safely):")
    typer.echo(api_key)


def create(
    ctx: typer.Context, name: str, role: Role, ask: bool, from_stdin: bool, as_json: bool
) -> None:
    password = read_password(ask, from_stdin)
    user, api_key = store(ctx).create_user(name, role, password, actor=cli_actor())
    show_new_key(user.name, api_key, as_json, user.as_dict())


@app.command("create-admin")
def create_admin(
    ctx: typer.Context,
    name: str,
    password: PasswordOption = False,
    password_stdin: StdinOption = False,
    as_json: JsonOption = False,
) -> None:
    """Create an admin and print its API key (the way to make the first admin)."""
    create(ctx, name, Role.ADMIN, password, password_stdin, as_json)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str,
    role: Annotated[Role, typer.Option(help="librarian or admin.")] = Role.LIBRARIAN,
    password: PasswordOption = False,
    password_stdin: StdinOption = False,
    as_json: JsonOption = False,
) -> None:
    """Add a user (librarian by default) and print its API key."""
    create(ctx, name, role, password, password_stdin, as_json)


@app.command("list")
def list_users(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Users, their roles and their API keys (prefixes only)."""
    accounts = store(ctx)
    users: list[User] = accounts.list_users()
    keys = accounts.list_api_keys()
    if as_json:
        rows = [
            {**u.as_dict(), "keys": [k.as_dict() for k in keys if k.user == u.name]} for u in users
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("name", "role", "password", "live keys (id: prefix)")
    for u in users:
        live = ", ".join(
            f"{k.id}: {k.prefix}…" for k in keys if k.user == u.name and not k.revoked_at
        )
        table.add_row(u.name, u.role.value, "yes" if u.has_password else "no", live or "-")
    out.print(table)


@app.command("set-role")
def set_role(ctx: typer.Context, name: str, role: Role) -> None:
    """Change a user's role (anonymous suspends it: its keys stop working for writes)."""
    user = store(ctx).set_role(name, role, actor=cli_actor())
    err.print(f"{user.name} is now {user.role.value}")


@app.command("new-key")
def new_key(ctx: typer.Context, name: str, as_json: JsonOption = False) -> None:
    """Issue another API key for a user and print it once."""
    info, api_key = store(ctx).issue_api_key(name, actor=cli_actor())
    show_new_key(name, api_key, as_json, {"id": info.id, "prefix": info.prefix})


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="Id from `users list`.")]
) -> None:
    """Revoke an API key; requests with it get 401 from now on."""
    info = store(ctx).revoke_api_key(key_id, actor=cli_actor())
    err.print(f"key {info.id} ({info.prefix}…) of {info.user} is revoked")


@app.command("set-password")
def set_password(
    ctx: typer.Context,
    name: str,
    password_stdin: StdinOption = False,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the password.")] = False,
) -> None:
    """Set (prompted) or remove a user's web-login password; ends the user's sessions."""
    password = None if remove else read_password(True, password_stdin)
    store(ctx).set_password(name, password, actor=cli_actor())
    err.print(f"password of {name} {'removed' if remove else 'set'}")


@app.command("audit")
def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action (or a family: 'key.').")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only this target, e.g. user:alice.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N entries.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The audit log of writes, newest first."""
    entries = store(ctx).audit.entries(actor=actor, action=action, target=target, limit=limit)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False))
        return
    table = Table("id", "when (UTC)", "actor", "action", "target", "before", "after")
    for e in entries:
        table.add_row(
            str(e.id),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            e.target,
            compact(e.before),
            compact(e.after),
        )
    out.print(table)


def compact(state: dict[str, object] | None) -> str:
    """``role=admin, has_password=True``: short enough for a table cell."""
    if not state:
        return ""
    return ", ".join(f"{k}={v}" for k, v in state.items() if k != "created_at")
