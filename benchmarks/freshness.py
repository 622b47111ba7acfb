"""What following the database costs a request (issue 9, point 3; web/registry.py).

Every request passes FreshBudgetsMiddleware: it reads the clock and, at most every
CHECK_SECONDS per process, runs one query for the newest published revision of each slug in
the threadpool. Measured here, in process, on a database holding --slugs budgets with
--revisions published revisions each, every lines file --blob-kb large (uploads are up to
5 MB; the query must not read them):

1. the middleware when no check is due (what almost every request pays);
2. the middleware when a check is due and nothing changed (the query, through the threadpool);
3. the query alone, with the covering index of migration 0007 and without it.

    .venv/bin/python benchmarks/freshness.py [--postgres URL] [--runs 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from budget_sim.settings import Settings
from budget_sim.storage import Database, upgrade
from budget_sim.storage import packages as packages_db
from budget_sim.web.registry import FreshBudgetsMiddleware, Registry

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _fill(database: Database, slugs: int, revisions: int, blob: bytes) -> None:
    with database.writing() as session:
        for s in range(slugs):
            for r in range(revisions):
                slug = f"bench-{s}"
                revision, _ = packages_db.add_revision(
                    session,
                    slug=slug,
                    manifest=b"",
                    lines_name="lines.csv",
                    lines=blob,
                    digest=f"{s:04d}{r:04d}".ljust(64, "0"),
                    opens_at=None,
                    closes_at=None,
                    created_by=None,
                    now=NOW,
                )
                packages_db.publish(session, slug, revision, NOW)


def _median_us(call, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


async def _inner(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    return None


def _middleware_us(registry: Registry, runs: int) -> float:
    middleware = FreshBudgetsMiddleware(_inner)
    scope = {"type": "http", "state": {"budgets": registry}}

    async def many() -> list[float]:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            await middleware(scope, None, None)  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        return times

    return statistics.median(asyncio.run(many())) * 1e6


def measure(url: str, args: argparse.Namespace) -> None:
    upgrade(url)
    database = Database(url)
    _fill(database, args.slugs, args.revisions, os.urandom(args.blob_kb * 1024))
    settings = Settings(database_url=url, secret_key="x" * 32)
    # The fake packages above are not valid budgets: loading them only logs a warning.
    logging.getLogger("budget_sim").setLevel(logging.ERROR)
    idle = Registry(settings, database, check_seconds=3600)
    every = Registry(settings, database, check_seconds=0)
    print(
        f"\n{database.read_engine.dialect.name}: {args.slugs} slugs x {args.revisions} "
        f"published revisions, {args.blob_kb} KB lines files"
    )
    print(f"  middleware, no check due:           {_middleware_us(idle, args.runs):8.1f} µs")
    print(f"  middleware, check due, no change:   {_middleware_us(every, args.runs):8.1f} µs")

    def query() -> None:
        with database.reading() as session:
            packages_db.published_revisions(session)

    print(f"  the query alone, covering index:    {_median_us(query, args.runs):8.1f} µs")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_budget_packages_published"))
        if database.read_engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE budget_packages"))
    print(f"  the query alone, without the index: {_median_us(query, args.runs // 10):8.1f} µs")
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE INDEX ix_budget_packages_published "
                "ON budget_packages (status, slug, revision)"
            )
        )
    engine.dispose()
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="an empty PostgreSQL database to use (it is reset)")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--slugs", type=int, default=5)
    parser.add_argument("--revisions", type=int, default=10)
    parser.add_argument("--blob-kb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure(f"sqlite:///{Path(folder) / 'bench.db'}", args)
    if args.postgres:
        engine = create_engine(args.postgres)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        measure(args.postgres, args)


if __name__ == "__main__":
    main()
