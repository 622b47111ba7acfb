"""Locks shared by every process on a database: one holder at a time, released by `release()`
or by the holder's death (a worker killed with -9 leaves nothing claimed)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from budget_sim.storage import Database, locks

HOLD = """
import sys, time
from budget_sim.storage import Database, locks
held = locks.try_lock(Database(sys.argv[1]), "warm-up")
print("held" if held else "taken", flush=True)
time.sleep(60)
"""


@pytest.fixture
def databases(database_url):
    """Two Databases on one database, as two worker processes have."""
    first, second = Database(database_url), Database(database_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_one_holder_at_a_time_until_released(databases):
    first, second = databases
    held = locks.try_lock(first, "warm-up")
    assert held is not None
    assert locks.try_lock(second, "warm-up") is None
    assert locks.try_lock(first, "warm-up") is None  # another thread of the same process too
    other = locks.try_lock(second, "intervals-town")  # another name is another lock
    assert other is not None
    held.release()
    again = locks.try_lock(second, "warm-up")
    assert again is not None
    again.release()
    other.release()
    with pytest.raises(ValueError, match="lower-case letters"):
        locks.try_lock(first, "../escape")


def test_a_killed_holder_leaves_the_lock_free(databases):
    first, _ = databases
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, first.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks.try_lock(first, "warm-up") is None
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    for _ in range(50):  # PostgreSQL notices the closed connection within moments
        held = locks.try_lock(first, "warm-up")
        if held is not None:
            break
        time.sleep(0.1)
    assert held is not None
    held.release()
