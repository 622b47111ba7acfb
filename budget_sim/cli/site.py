"""Running a site: serve, db upgrade, backup."""

from __future__ import annotations

from pathlib import Path

import click

from budget_sim.cli.context import require_current_schema, settings_of, shown_url


@click.command()
@click.option("--host", default="127.0.0.1", help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    help="Worker processes. Without BUDGET_SIM_SECRET_KEY the key is created once, before they "
    "start.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log a line per request (the reverse proxy usually logs them too).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the resident site and the staff pages.

    On SQLite (the default) the database is migrated first; on PostgreSQL serve refuses to
    start unless `budget-sim db upgrade` has brought the schema up to date."""
    import uvicorn

    from budget_sim.storage import is_sqlite, upgrade
    from budget_sim.storage.migrate import schema_status
    from budget_sim.web.signing import signing_key

    settings = settings_of(ctx)
    if is_sqlite(settings.database_url):
        if schema_status(settings.database_url) != "current":
            upgrade(settings.database_url)
            click.echo(f"Migrated the SQLite database {shown_url(ctx)}.", err=True)
    else:
        require_current_schema(ctx)
    signing_key(settings)  # created here, once, not by each worker
    if workers == 1:
        from budget_sim.web import create_app

        uvicorn.run(
            create_app(settings), host=host, port=port, proxy_headers=False, access_log=access_log
        )
    else:  # each worker builds its own app from the same environment
        uvicorn.run(
            "budget_sim.web.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            proxy_headers=False,
            access_log=access_log,
        )


@click.group()
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Create the database schema, or migrate it to this version's."""
    from budget_sim.storage import upgrade

    upgrade(settings_of(ctx).database_url)
    click.echo("Database is up to date.")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.pass_context
def backup(ctx: click.Context, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH, consistently, even while the server runs.

    On PostgreSQL, prints the pg_dump command to run instead."""
    from budget_sim.storage import is_sqlite
    from budget_sim.storage.backup import backup_sqlite, pg_dump_command, sqlite_path

    settings = settings_of(ctx)
    url = settings.database_url
    if not is_sqlite(url):
        raise click.ClickException(
            f"backup copies SQLite databases; for PostgreSQL run: {pg_dump_command(url, path)}"
        )
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: choose another PATH, or add --force")
    if not path.parent.is_dir():
        raise click.ClickException(f"there is no folder {path.parent} to write {path.name} in")
    try:
        backup_sqlite(url, path)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    size = path.stat().st_size
    click.echo(f"Wrote {path} ({size:,} bytes), a checked copy of {sqlite_path(url)}.")
    if settings.secret_key is None:
        click.echo(f"Keep {settings.instance_dir / 'secret_key'} with it (ballot links need it).")
