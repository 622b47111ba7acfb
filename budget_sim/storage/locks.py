"""Named locks shared by every process on one database, for work that should run once however
many workers serve the site (the insight warm-up, the headline intervals).

* PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection kept while the
  lock is held; the server drops it when that connection ends, so a worker that dies holds
  nothing.
* SQLite (one machine by definition): `flock` on a file in a folder beside the database file
  (`budget-sim.db-locks/NAME.lock`, as SQLite keeps its own `-wal` and `-shm` beside it); the
  kernel drops it when the process dies.
* An in-memory SQLite database lives in one process: a lock of that process.

Nothing waits here: `try_lock` says at once whether this process now holds the lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from budget_sim.storage.engine import Database, is_sqlite

_SAFE = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class Held(Protocol):
    def release(self) -> None: ...


def try_lock(database: Database, name: str) -> Held | None:
    """Hold the lock `name` (lower-case letters, digits, dashes) if no process does; else None.
    Call `release()` on what it returns when done (or keep it for the process's lifetime)."""
    if not _SAFE.fullmatch(name):
        raise ValueError(f"lock names are lower-case letters, digits and dashes: {name!r}")
    if not is_sqlite(database.url):
        return _AdvisoryLock.acquire(database, name)
    path = make_url(database.url).database
    if not path or path == ":memory:":
        return _ProcessLock.acquire(name)
    return _FileLock.acquire(Path(f"{path}-locks") / f"{name}.lock")


class _AdvisoryLock:
    def __init__(self, connection: Connection, key: int) -> None:
        self._connection, self._key = connection, key

    @classmethod
    def acquire(cls, database: Database, name: str) -> _AdvisoryLock | None:
        key = int.from_bytes(
            hashlib.blake2b(f"budget-sim:{name}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        connection = database.read_engine.connect()
        try:
            held = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            connection.commit()  # the lock outlives the transaction; no session left idle in one
        except BaseException:
            connection.close()
            raise
        if not held:
            connection.close()
            return None
        return cls(connection, key)

    def release(self) -> None:
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._connection.commit()
        except Exception:
            # The connection broke: the server dropped the lock with it. Never hand it back.
            self._connection.invalidate()
        finally:
            self._connection.close()


class _FileLock:
    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor

    @classmethod
    def acquire(cls, path: Path) -> _FileLock | None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        return cls(descriptor)

    def release(self) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        os.close(self._descriptor)


class _ProcessLock:
    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock

    @classmethod
    def acquire(cls, name: str) -> _ProcessLock | None:
        with _LOCAL_GUARD:
            lock = _LOCAL.setdefault(name, threading.Lock())
        return cls(lock) if lock.acquire(blocking=False) else None

    def release(self) -> None:
        self._lock.release()
