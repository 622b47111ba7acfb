"""Backups: a consistent copy of a SQLite database through SQLite's online backup API (safe while
the server writes), and the `pg_dump` command that does the same for PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url


def sqlite_path(url: str) -> Path:
    """The file of a sqlite:/// URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"{url} is not a SQLite file")
    return Path(database)


def backup_sqlite(url: str, target: Path) -> str:
    """Copy the SQLite database at `url` to `target` in one read transaction (a consistent
    snapshot: the server's writers go on meanwhile, in WAL mode), check the copy and only then
    put it in place. The copy's `PRAGMA quick_check` answer ("ok")."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise FileNotFoundError(f"there is no database at {source_path}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source_path, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            source.backup(copy)  # every page in one step: never restarted by a writer
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"the copy failed its check: {check}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return check


def pg_dump_command(url: str, target: Path) -> str:
    """The `pg_dump` command line that backs up the PostgreSQL database at `url` into `target`
    (custom format, for pg_restore), without the password: pg_dump takes it from ~/.pgpass or
    PGPASSWORD."""
    given = make_url(url)
    plain = URL.create(  # libpq's own scheme, and no password
        "postgresql",
        username=given.username,
        host=given.host,
        port=given.port,
        database=given.database,
        query=given.query,
    )
    address = plain.render_as_string(hide_password=False)
    return shlex.join(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={address}"])
