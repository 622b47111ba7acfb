"""Insight reports kept in memory per budget and filters, reused until a submission is stored or
flagged (the submissions table's stamp changes) or the budget is revised."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from budget_sim.insights import dashboard, report
from budget_sim.model import Budget
from budget_sim.storage.exports import SubmissionTables

logger = logging.getLogger("budget_sim")


class InsightCache:
    """Submissions tables (brought up to date incrementally) and the last `size` reports."""

    def __init__(self, tables: SubmissionTables, size: int = 16, resamples: int = 200) -> None:
        self.tables = tables
        self._resamples = resamples
        self._reports: OrderedDict[tuple, report.Report] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        # The dashboard's reports are brought up to date in the background (one budget and
        # set of filters at a time), while the last one is shown.
        self._refresh = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")
        self._newest: dict[tuple, tuple[int, int]] = {}  # (slug, version, filters) -> stamp
        self._refreshing: set[tuple] = set()
        self._gates: dict[tuple, threading.Lock] = {}  # one computation per report at a time
        self._closed = False
        # Bootstrap intervals take seconds: one at a time, in the background, newest kept.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intervals")
        self._intervals: OrderedDict[tuple, Future[dashboard.Interval]] = OrderedDict()

    def table(self, budget: Budget, *, include_synthetic: bool) -> pl.DataFrame:
        """The submissions table of a budget, current as of now (blocking)."""
        return self.tables.get(budget.slug, budget.line_ids, include_synthetic=include_synthetic)[0]

    def report(self, budget: Budget, filters: report.Filters) -> report.Report:
        """Every insight table under `filters`, computed once per state of the submissions."""
        table, stamp = self.tables.get(
            budget.slug, budget.line_ids, include_synthetic=filters.include_synthetic
        )
        key = (budget.slug, budget.version, filters, stamp)
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key]
        return self._build(table, budget, filters, key)

    def latest(self, budget: Budget, filters: report.Filters) -> tuple[report.Report, int]:
        """The newest report under `filters` without waiting for one to be computed when an
        older one exists, and how many submissions arrived since it was computed (0: it is
        current). An out-of-date report is brought up to date in the background."""
        table, stamp = self.tables.get(
            budget.slug, budget.line_ids, include_synthetic=filters.include_synthetic
        )
        base = (budget.slug, budget.version, filters)
        key = (*base, stamp)
        with self._lock:
            if key in self._reports:
                self._reports.move_to_end(key)
                return self._reports[key], 0
            older = self._newest.get(base)
            shown = self._reports.get((*base, older)) if older else None
            if shown is not None:
                if base not in self._refreshing:
                    self._refreshing.add(base)
                    self._refresh.submit(self._build, table, budget, filters, key)
                return shown, max(1, stamp[0] - older[0])  # type: ignore[index]
        return self._build(table, budget, filters, key), 0

    def _build(
        self, table: pl.DataFrame, budget: Budget, filters: report.Filters, key: tuple
    ) -> report.Report:
        """Compute a report once: a request arriving while it is computed waits for it."""
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        try:
            with gate:
                with self._lock:
                    if key in self._reports:
                        return self._reports[key]
                built = report.build(table, budget, filters)
                with self._lock:
                    self._reports[key] = built
                    self._newest[key[:3]] = key[3]
                    while len(self._reports) > self._size:
                        self._reports.popitem(last=False)
                return built
        finally:
            with self._lock:
                self._refreshing.discard(key[:3])
                self._gates.pop(key, None)

    def warm(self, budgets: Iterable[Budget]) -> None:
        """Compute each budget's default views in the background (after a start-up), so that
        the first analyst to open a dashboard does not wait for them."""
        chosen = list(budgets)

        def run() -> None:
            for budget in chosen:
                for filters in (report.Filters(), report.Filters(include_synthetic=True)):
                    if self._closed:
                        return
                    try:
                        self.report(budget, filters)
                    except Exception:  # a warm-up failure must not stop the server
                        logger.exception("warming the insights of %s failed", budget.slug)

        self._refresh.submit(run)

    def intervals(self, budget: Budget, filters: report.Filters) -> dashboard.Interval | None:
        """The bootstrap intervals of the headline under `filters`, or None while they are
        being computed (the first call starts that)."""
        _, stamp = self.tables.get(
            budget.slug, budget.line_ids, include_synthetic=filters.include_synthetic
        )
        key = (budget.slug, budget.version, filters, stamp)
        with self._lock:
            future = self._intervals.get(key)
            if future is None:
                future = self._background.submit(self._bootstrap, budget, filters)
                self._intervals[key] = future
                while len(self._intervals) > self._size:
                    self._intervals.popitem(last=False)
        return future.result() if future.done() else None

    def _bootstrap(self, budget: Budget, filters: report.Filters) -> dashboard.Interval:
        built = self.report(budget, filters)
        weights = built.weights.values if built.weights else None
        return dashboard.bootstrap_interval(
            built.table,
            budget.lines,
            weights=weights,
            resamples=self._resamples,
            should_stop=lambda: self._closed,  # a shutdown does not wait for 200 draws
        )

    def settle(self, timeout: float = 60) -> None:
        """Wait until the reports queued before now are up to date (warm-up included)."""
        self._refresh.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Drop queued work and wait for what is running (before the database goes away: a
        report still reading would otherwise keep a connection the pool no longer knows)."""
        self._closed = True
        self._refresh.shutdown(wait=True, cancel_futures=True)
        self._background.shutdown(wait=True, cancel_futures=True)
