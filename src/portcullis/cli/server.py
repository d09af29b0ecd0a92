"""``portcullis server``: run the console, and bootstrap it (tokens, the first admin).

The server package (FastAPI, SQLAlchemy) is imported inside the commands only: the rest of
the CLI, ``scan`` above all, never loads it."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from portcullis.cli import exit_codes
from portcullis.cli.sizes import SizeType
from portcullis.errors import ConfigError

MISSING_EXTRA = ("the console needs the server extra: pip install 'portcullis[server]' "
                 "({name} is missing)")


def _database_options(command: Any) -> Any:
    command = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                           envvar="PORTCULLIS_DATA_DIR",
                           help="Where the SQLite database lives (default: "
                                "~/.local/share/portcullis).")(command)
    return click.option("--database-url", envvar="PORTCULLIS_DATABASE_URL",
                        help="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db "
                             "(default: SQLite under the data dir).")(command)


def _database(database_url: str | None, data_dir: Path | None) -> Any:
    """The migrated database (imports the server package)."""
    try:
        from portcullis.server import migrate
        from portcullis.server.config import resolve_database_url
        from portcullis.server.db import Database
    except ImportError as e:
        raise ConfigError(MISSING_EXTRA.format(name=e.name)) from None
    db = Database(resolve_database_url(database_url, data_dir))
    try:
        migrate.upgrade(db.engine)
    except Exception as e:  # the driver's errors: wrong host, password, missing database
        db.close()
        raise ConfigError(f"cannot open the database {_safe(db.url)}: "
                          f"{str(e).splitlines()[0]}") from None
    return db


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{tail}"


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on.")
@_database_options
@click.option("--max-upload-size", type=SizeType(), default="64M", show_default=True,
              help="Largest report body the API accepts.")
@click.option("--secure-cookies", is_flag=True,
              help="Always mark cookies Secure (behind a TLS-terminating proxy).")
@click.pass_context
def server(ctx: click.Context, host: str, port: int, database_url: str | None,
           data_dir: Path | None, max_upload_size: int, secure_cookies: bool) -> None:
    """Run the web console (SQLite under the data dir unless --database-url)."""
    if ctx.invoked_subcommand is not None:
        return
    with exit_codes.exit_on_error("server", debug=bool(ctx.obj.get("debug"))):
        _serve(host, port, database_url, data_dir, max_upload_size, secure_cookies)


def _serve(host: str, port: int, database_url: str | None, data_dir: Path | None,
           max_upload_size: int, secure_cookies: bool) -> None:
    db = _database(database_url, data_dir)
    import uvicorn

    from portcullis.server import accounts
    from portcullis.server.app import create_app
    from portcullis.server.config import ServerConfig

    password = os.environ.get("PORTCULLIS_ADMIN_PASSWORD")
    with db.session() as session:
        if password:
            name = os.environ.get("PORTCULLIS_ADMIN_USER") or "admin"
            accounts.set_user(session, name, password, admin=True)
        users = accounts.user_count(session)
    db.close()
    app = create_app(ServerConfig(database_url=db.url, max_upload_bytes=max_upload_size,
                                  secure_cookies=secure_cookies))
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    click.echo(f"Portcullis console: http://{shown}:{port}/  (database: {_safe(db.url)})")
    if users == 0:
        click.echo("No user yet: create the first admin with `portcullis server admin create "
                   "admin --password-stdin` (or start with PORTCULLIS_ADMIN_PASSWORD set).")
    click.echo("Upload tokens: `portcullis server token create --project NAME`.")
    sys.stdout.flush()
    # uvicorn shuts down cleanly on SIGTERM or Ctrl-C, then re-raises the signal: a normal stop.
    with contextlib.suppress(exit_codes.Terminated, KeyboardInterrupt):
        uvicorn.run(app, host=host, port=port, log_level="warning")


@server.group()
def token() -> None:
    """Project API tokens."""


@token.command("create")
@click.option("--project", required=True, help="Project name (created when missing).")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@_database_options
@click.pass_context
def token_create(ctx: click.Context, project: str, name: str, database_url: str | None,
                 data_dir: Path | None) -> None:
    """Create a token for PROJECT; the token is the last word of the output."""
    with exit_codes.exit_on_error("token create", debug=bool(ctx.obj.get("debug"))):
        from portcullis.server import accounts

        db = _database(database_url, data_dir)
        try:
            with db.session() as session:
                row = accounts.project(session, project, create=True)
                assert row is not None
                issued = accounts.issue_token(session, row, name)
        finally:
            db.close()
    click.echo(f"Token for project {project} (shown once, store it as a CI secret): "
               f"{issued.token}")


@server.group()
def admin() -> None:
    """Console administrators."""


@admin.command("create")
@click.argument("name", default="admin")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from stdin (else PORTCULLIS_ADMIN_PASSWORD, else a prompt).")
@_database_options
@click.pass_context
def admin_create(ctx: click.Context, name: str, password_stdin: bool, database_url: str | None,
                 data_dir: Path | None) -> None:
    """Create the administrator NAME, or reset its password."""
    with exit_codes.exit_on_error("admin create", debug=bool(ctx.obj.get("debug"))):
        from portcullis.server import accounts

        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = os.environ.get("PORTCULLIS_ADMIN_PASSWORD") or click.prompt(
                "Password", hide_input=True, confirmation_prompt=True)
        db = _database(database_url, data_dir)
        try:
            with db.session() as session:
                accounts.set_user(session, name, password, admin=True)
        finally:
            db.close()
    click.echo(f"Administrator {name} is ready: log in at the console's /login.")
