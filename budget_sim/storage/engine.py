"""Engines and sessions. SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE, one writer at a time
(across this process's threads and across processes)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: threads of one process are still serialised
    fcntl = None  # type: ignore[assignment]

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


class WriteLock:
    """One SQLite writer at a time: a lock for this process's threads, and an exclusive flock
    on `<database>-writer` for other processes (workers, the command line). Waiting on it
    wakes as soon as it is free, where SQLite's own busy handler sleeps and polls (1, 2, 5,
    10 ms...), and it can be tried without blocking (the group-commit writer polls it from the
    event loop)."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if database and database != ":memory:" and fcntl is not None:
            self._fd = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, blocking: bool = True) -> bool:
        if not self._threads.acquire(blocking):
            return False
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                self._threads.release()
                return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass
class Database:
    """Reads go through `reading()`; writes through `writing()`, serialised on SQLite."""

    url: str
    read_engine: Engine = field(init=False)
    write_engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.read_engine = make_engine(self.url)
        self.sqlite = is_sqlite(self.url)
        self.write_engine = (
            make_engine(self.url, for_writes=True) if self.sqlite else self.read_engine
        )
        self._write_lock = WriteLock(make_url(self.url).database if self.sqlite else None)
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)
        self._writes = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._reads() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A transaction committed on exit (rolled back on error); one at a time on SQLite."""
        if self.sqlite:
            self._write_lock.acquire()
            try:
                with self._writes.begin() as session:
                    yield session
            finally:
                self._write_lock.release()
        else:
            with self._writes.begin() as session:
                yield session

    def try_writing(self) -> AbstractContextManager[Session] | None:
        """`writing()` if no other writer holds SQLite's write lock right now, else None
        (always `writing()` on PostgreSQL). Never waits."""
        if not self.sqlite:
            return self.writing()
        if not self._write_lock.acquire(blocking=False):
            return None
        return self._locked_transaction()

    @contextmanager
    def _locked_transaction(self) -> Iterator[Session]:
        try:
            with self._writes.begin() as session:
                yield session
        finally:
            self._write_lock.release()

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()
        self._write_lock.close()
