"""Insight reports kept in memory per budget and filters, reused until a submission is stored or
flagged (the submissions table's stamp changes) or the budget is revised."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from budget_sim.insights import dashboard, report
from budget_sim.model import Budget
from budget_sim.storage.exports import SubmissionTables


class InsightCache:
    """Submissions tables (brought up to date incrementally) and the last `size` reports."""

    def __init__(self, tables: SubmissionTables, size: int = 16, resamples: int = 200) -> None:
        self.tables = tables
        self._resamples = resamples
        self._reports: OrderedDict[tuple, report.Report] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
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
        built = report.build(table, budget, filters)
        with self._lock:
            self._reports[key] = built
            while len(self._reports) > self._size:
                self._reports.popitem(last=False)
        return built

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
            built.table, budget.lines, weights=weights, resamples=self._resamples
        )

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
