"""The headline's bootstrap intervals, the slow part of the insight cache (seconds to minutes of
resampling, a small result): computed in the background one at a time, newest kept, and paused
between draws while a dashboard is being answered. InsightCache (web/insight_cache.py) takes
them from this class, over its own reports and lock.

With several worker processes (given the database), they are computed once for all workers:
the worker that takes the budget's "intervals-SLUG" lock computes them and stores them in the
database (storage/intervals.py); a worker that finds the lock taken waits for the stored result
(asking twice a second) instead of resampling the same draws."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

import polars as pl

from budget_sim.insights import dashboard, report
from budget_sim.insights.headline import HEADLINE
from budget_sim.model import Budget
from budget_sim.storage import Database, locks
from budget_sim.storage import intervals as intervals_db

logger = logging.getLogger("budget_sim")
PAUSE_SECONDS = 5.0  # longest a resampling draw waits for requests to be answered
SHARED_POLL_SECONDS = 0.5  # how often a worker looks for intervals another worker computes


class HeadlineIntervals:
    """The intervals half of InsightCache, which sets what this class reads (below) and
    provides `report` and `_filtered`; `_init_intervals` sets up this half's own state."""

    _database: Database | None  # None: this process alone (nothing shared)
    _resamples: int
    _size: int
    _lock: threading.Lock  # guards the reports and the intervals alike
    _closed: bool

    def _init_intervals(self) -> None:
        # Bootstrap intervals take seconds: one at a time, in the background, newest kept.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intervals")
        self._intervals: OrderedDict[tuple, Future[dashboard.Interval]] = OrderedDict()
        # Resampling waits between draws while a dashboard is being answered (`foreground`).
        self._quiet = threading.Condition()
        self._answering = 0

    def intervals(
        self,
        budget: Budget,
        filters: report.Filters,
        *,
        start: bool = True,
        method: str = HEADLINE,
    ) -> dashboard.Interval | None:
        """The bootstrap intervals of `method` (default: the headline) under `filters`, or None
        while they are being computed (the first call starts that, unless `start` is false)."""
        _, stamp = self._filtered(budget, filters)
        key = (budget.slug, budget.version, filters, stamp, method)
        with self._lock:
            future = self._intervals.get(key)
        if future is None:
            shared = self._shared(budget.slug, key)  # another worker's, if stored
            if shared is None and not start:
                return None
            with self._lock:
                future = self._intervals.get(key)
                if future is None:
                    if shared is not None:
                        future = Future()
                        future.set_result(shared)
                    else:
                        future = self._background.submit(self._bootstrap_once, budget, filters, key)
                    self._intervals[key] = future
                    while len(self._intervals) > self._size:
                        self._intervals.popitem(last=False)
        return future.result() if future.done() else None

    def intervals_now(
        self, budget: Budget, filters: report.Filters, *, method: str = HEADLINE
    ) -> dashboard.Interval:
        """The intervals of `method` under `filters`, never None (for the report for council,
        which must show them): the cached or stored ones; else the computation under way, once
        it ends; else computed now in the calling thread (one still queued behind other
        intervals is taken out of the queue and computed here). Kept for the dashboard."""
        found = self.intervals(budget, filters, start=False, method=method)
        if found is not None:
            return found
        _, stamp = self._filtered(budget, filters)
        key = (budget.slug, budget.version, filters, stamp, method)
        with self._lock:
            future = self._intervals.get(key)
            if future is not None and future.cancel():  # queued, not started: done here
                future = None
            mine = future is None
            if mine:
                future = Future()
                future.set_running_or_notify_cancel()
                self._intervals[key] = future
                while len(self._intervals) > self._size:
                    self._intervals.popitem(last=False)
        if not mine:
            return future.result()
        try:
            built = self.report(budget, filters)
            computed = dashboard.bootstrap_interval(
                built.table,
                budget.lines,
                method=method,
                weights=built.weights.values if built.weights else None,
                resamples=self._resamples,
            )
        except BaseException as error:
            with self._lock:
                self._intervals.pop(key, None)
            future.set_exception(error)
            raise
        future.set_result(computed)
        if self._database is not None:
            self._store(budget.slug, key, computed)
        return computed

    def _digest(self, key: tuple) -> str:
        """The intervals' key in the database: budget version, filters, stamp, resamples."""
        return hashlib.sha256(repr((*key[1:], self._resamples)).encode()).hexdigest()

    def _shared(self, slug: str, key: tuple) -> dashboard.Interval | None:
        """The intervals of `key` if a worker stored them (one indexed query)."""
        if self._database is None:
            return None
        with self._database.reading() as session:
            found = intervals_db.stored_interval(session, self._digest(key))
        if found is None:
            return None
        return dashboard.Interval(
            pl.read_ipc(io.BytesIO(found.bounds)), found.method, found.resamples, found.rows
        )

    def _bootstrap_once(
        self, budget: Budget, filters: report.Filters, key: tuple
    ) -> dashboard.Interval:
        """The intervals of `key`, computed here only if no other worker is computing those of
        this budget; otherwise the ones it stores, once it has."""
        if self._database is None:
            return self._bootstrap(budget, filters, key[-1])
        while True:
            found = self._shared(budget.slug, key)
            if found is not None:
                return found
            held = locks.try_lock(self._database, f"intervals-{budget.slug}")
            if held is not None:
                try:
                    found = self._shared(budget.slug, key)  # stored while we asked for the lock
                    if found is not None:
                        return found
                    computed = self._bootstrap(budget, filters, key[-1])
                    logger.info(
                        "intervals of %s (%s) computed in this worker", budget.slug, key[-1]
                    )
                    self._store(budget.slug, key, computed)
                    return computed
                finally:
                    held.release()
            with self._quiet:  # another worker is resampling: wait for its result
                self._quiet.wait_for(lambda: self._closed, SHARED_POLL_SECONDS)
            if self._closed:
                raise dashboard.Stopped

    def _store(self, slug: str, key: tuple, interval: dashboard.Interval) -> None:
        assert self._database is not None
        bounds = io.BytesIO()
        interval.bounds.write_ipc(bounds)
        stored = intervals_db.StoredInterval(
            interval.method, interval.resamples, interval.rows, bounds.getvalue()
        )
        try:
            with self._database.writing() as session:
                intervals_db.store_interval(
                    session, slug, self._digest(key), stored, datetime.now(UTC)
                )
        except Exception:  # this worker still has them; the others compute their own
            logger.exception("could not store the intervals of %s", slug)

    @contextlib.contextmanager
    def foreground(self) -> Iterator[None]:
        """While a request is answered inside this block, background resampling waits between
        draws (for at most PAUSE_SECONDS each), so the request does not share the CPU with it."""
        with self._quiet:
            self._answering += 1
        try:
            yield
        finally:
            with self._quiet:
                self._answering -= 1
                self._quiet.notify_all()

    def _between_draws(self) -> bool:
        """Wait while requests are answered; True when the cache is closing (stop drawing)."""
        with self._quiet:
            self._quiet.wait_for(lambda: not self._answering or self._closed, PAUSE_SECONDS)
        return self._closed

    def _bootstrap(
        self, budget: Budget, filters: report.Filters, method: str
    ) -> dashboard.Interval:
        built = self.report(budget, filters)
        weights = built.weights.values if built.weights else None
        return dashboard.bootstrap_interval(
            built.table,
            budget.lines,
            method=method,
            weights=weights,
            resamples=self._resamples,
            should_stop=self._between_draws,  # a shutdown does not wait for 200 draws
        )
