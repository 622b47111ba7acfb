"""Engines and sessions. SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE, one writer at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_PRAGMAS = {
    "journal_mode": "WAL",
    "synchronous": "FULL",
    "foreign_keys": "ON",
    "busy_timeout": "10000",
}


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (SQLAlchemy recipe)
        cursor = dbapi_connection.cursor()
        for name, value in SQLITE_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, for_writes: bool = False) -> Engine:
    """An engine for `url`; on SQLite, `for_writes` makes every transaction BEGIN IMMEDIATE."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url, immediate=for_writes)
    return create_engine(url, pool_pre_ping=True)


@dataclass
class Database:
    """Reads go through `reading()`; writes through `writing()`, serialised on SQLite."""

    url: str
    read_engine: Engine = field(init=False)
    write_engine: Engine = field(init=False)
    _write_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.read_engine = make_engine(self.url)
        self.write_engine = (
            make_engine(self.url, for_writes=True) if is_sqlite(self.url) else self.read_engine
        )
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)
        self._writes = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._reads() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction committed on exit (rolled back on error); one at a time on SQLite."""
        if is_sqlite(self.url):
            with self._write_lock, self._writes.begin() as session:
                yield session
        else:
            with self._writes.begin() as session:
                yield session

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()
