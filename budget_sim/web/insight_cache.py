"""Insight reports kept in memory per budget and filters, reused until a submission is stored or
flagged (the submissions table's stamp changes) or the budget is revised. The dashboard's reports
keep their charts with them, so a view already computed draws nothing. (Charts are drawn after
the tables, not beside them: vl-convert 1.9 holds up the process's other Python threads while it
draws, so drawing beside the computation only slowed it down.)

With several worker processes (given the database):

* The reports stay in each worker's memory, current with the database's stamp: a submission
  stored or set aside through any worker changes the stamp every worker reads.
* The start-up warm-up runs in one worker: the one that takes the "warm-up" lock
  (storage/locks.py) and keeps it until it stops. The others leave it, and compute a view when
  it is first asked for there. The reports are not shared between workers because most of a
  view's cost is in memory that every worker needs anyway: its wide submissions table (read
  once per process, then kept current) beside the tables, figures and charts of each view.
* The headline's intervals (seconds to minutes of resampling, a small result) are computed once
  for all workers (web/insight_intervals.py)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from budget_sim.insights import dashboard, report
from budget_sim.model import Budget
from budget_sim.storage import Database, locks
from budget_sim.storage.exports import SubmissionTables
from budget_sim.storage.submissions import Stamp
from budget_sim.web import registry
from budget_sim.web.dashboard_charts import draw_charts
from budget_sim.web.insight_intervals import HeadlineIntervals

logger = logging.getLogger("budget_sim")


class InsightCache(HeadlineIntervals):
    """Submissions tables (brought up to date incrementally) and the last `size` reports; those
    the dashboard showed keep its charts (`derived["charts"]`: insight table name -> chart)."""

    def __init__(
        self,
        tables: SubmissionTables,
        size: int = 16,
        resamples: int = 200,
        database: Database | None = None,
    ) -> None:
        self.tables = tables
        self._database = database  # None: this process alone (nothing shared)
        self._warm_lock: locks.Held | None = None
        self._resamples = resamples
        self._reports: OrderedDict[tuple, report.Report] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        # The dashboard's reports are brought up to date in the background (one budget and
        # set of filters at a time), while the last one is shown.
        self._refresh = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")
        self._newest: dict[tuple, Stamp] = {}  # (slug, version, filters) -> stamp
        self._refreshing: set[tuple] = set()
        self._gates: dict[tuple, threading.Lock] = {}  # one computation per report at a time
        self._closed = False
        self._init_intervals()  # the headline's intervals (web/insight_intervals.py)

    def table(
        self, budget: Budget, *, include_synthetic: bool, include_set_aside: bool = False
    ) -> pl.DataFrame:
        """The submissions table of a budget, current as of now (blocking)."""
        return self._table(budget, include_synthetic, include_set_aside)[0]

    def _table(
        self, budget: Budget, include_synthetic: bool, include_set_aside: bool
    ) -> tuple[pl.DataFrame, Stamp]:
        return self.tables.get(
            budget.slug,
            budget.line_ids,
            include_synthetic=include_synthetic,
            include_set_aside=include_set_aside,
        )

    def _filtered(self, budget: Budget, filters: report.Filters) -> tuple[pl.DataFrame, Stamp]:
        return self._table(budget, filters.include_synthetic, filters.include_set_aside)

    def set_aside(self, budget: Budget) -> int:
        """How many of the budget's submissions staff set aside, as of the last look at its
        table (a dashboard has just looked)."""
        stamp = self.tables.last_stamp(budget.slug) or self._table(budget, True, False)[1]
        return stamp.flagged

    def report(
        self, budget: Budget, filters: report.Filters, *, with_charts: bool = False
    ) -> report.Report:
        """Every insight table under `filters`, computed once per state of the submissions
        (with the dashboard's charts if asked)."""
        table, stamp = self._filtered(budget, filters)
        key = (budget.slug, budget.version, filters, stamp)
        with self._lock:
            found = self._reports.get(key)
            if found is not None:
                self._reports.move_to_end(key)
        if found is None:
            return self._build(table, budget, filters, key, with_charts=with_charts)
        return self._charted(budget, found) if with_charts else found

    def latest(self, budget: Budget, filters: report.Filters) -> tuple[report.Report, int]:
        """The newest report under `filters` without waiting for one to be computed when an
        older one exists and submissions were only added since, and how many arrived since it
        was computed (0: it is current), counting only those this view counts (demo
        submissions added to a view without them change nothing). An out-of-date report is
        brought up to date in the background; one that counted no submissions is not shown
        while there are some ("0 submissions" would be false): it is computed now."""
        table, stamp = self._filtered(budget, filters)
        base = (budget.slug, budget.version, filters)
        key = (*base, stamp)
        with self._lock:
            current = self._reports.get(key)
            if current is not None:
                self._reports.move_to_end(key)
            older = self._newest.get(base)
            # The last figures are shown only while new submissions are added; after one was
            # set aside or counted again, they would count what staff just changed.
            only_new = older is not None and (older.flagged, older.aside) == (
                stamp.flagged,
                stamp.aside,
            )
            shown = self._reports.get((*base, older)) if only_new and current is None else None
            if shown is not None and shown.everyone == table.height:  # nothing new in this view
                self._reports[key] = current = shown
                self._newest[base] = stamp
                shown = None
            elif shown is not None and shown.everyone == 0:
                shown = None
            if shown is not None and base not in self._refreshing:
                self._refreshing.add(base)
                self._refresh.submit(self._dashboard, table, budget, filters, key)
        if current is not None:
            return self._charted(budget, current), 0
        if shown is not None:
            return self._charted(budget, shown), max(1, table.height - shown.everyone)
        return self._dashboard(table, budget, filters, key), 0

    def _dashboard(
        self, table: pl.DataFrame, budget: Budget, filters: report.Filters, key: tuple
    ) -> report.Report:
        """A report as the dashboard shows it: computed once, with its charts."""
        return self._build(table, budget, filters, key, with_charts=True)

    @staticmethod
    def _charted(budget: Budget, built: report.Report) -> report.Report:
        """`built`, with the dashboard's charts drawn if they are not yet."""
        if "charts" not in built.derived:
            built.derived["charts"] = draw_charts(budget, built)
        return built

    def _build(
        self,
        table: pl.DataFrame,
        budget: Budget,
        filters: report.Filters,
        key: tuple,
        *,
        with_charts: bool = False,
    ) -> report.Report:
        """Compute a report once: a request arriving while it is computed waits for it. With
        `with_charts`, the dashboard's are drawn before anyone else can see the report."""
        with self._lock:
            gate = self._gates.setdefault(key, threading.Lock())
        try:
            with gate:
                with self._lock:
                    found = self._reports.get(key)
                if found is not None:
                    return self._charted(budget, found) if with_charts else found
                plain = dataclasses.replace(filters, compare="")
                if filters.compare:  # the view without it, cached too, then the comparison
                    without = self._build(
                        table, budget, plain, (*key[:2], plain, key[3]), with_charts=with_charts
                    )
                    built = report.with_comparison(without, budget, filters)
                else:
                    built = report.build(table, budget, filters, self.shown(budget, table))
                if with_charts:
                    self._charted(budget, built)
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

    def shown(self, budget: Budget, table: pl.DataFrame) -> dashboard.Shown:
        """The city's amounts of each earlier version of `budget` that submissions in `table`
        were made against (what those residents were shown), as far as they are still known
        (registry.budget_at); an unknown version is compared with the current amounts."""
        if dashboard.VERSION not in table.columns:
            return {}
        found: dict[str, dict[str, int]] = {}
        for version in table.get_column(dashboard.VERSION).unique().drop_nulls().to_list():
            if version == budget.version:
                continue
            earlier = (
                registry.budget_at(self._database, budget.slug, version)
                if self._database is not None
                else registry.known_version(budget.slug, version)
            )
            if earlier is not None:
                found[version] = dict(earlier.lines.select("id", "amount").iter_rows())
        return found

    def warm(self, budgets: Iterable[Budget]) -> None:
        """Compute each budget's default views (`report.default_views`) in the background
        (after a start-up), so that the first analyst to open them does not wait. With several
        workers, only the one holding the "warm-up" lock does (see the module's docstring)."""
        chosen = list(budgets)
        if self._database is not None:
            self._warm_lock = locks.try_lock(self._database, "warm-up")
            if self._warm_lock is None:
                logger.info("insight warm-up left to the worker that holds it")
                return
        logger.info("insight warm-up of %d budgets in this worker", len(chosen))

        def run() -> None:
            for budget in chosen:
                for filters in report.default_views(budget):
                    if self._closed:
                        return
                    try:
                        self.report(budget, filters, with_charts=True)
                    except Exception:  # a warm-up failure must not stop the server
                        logger.exception("warming the insights of %s failed", budget.slug)

        self._refresh.submit(run)

    def settle(self, timeout: float = 60) -> None:
        """Wait until the reports queued before now are up to date (warm-up included)."""
        self._refresh.submit(lambda: None).result(timeout)

    def close(self) -> None:
        """Drop queued work and wait for what is running (before the database goes away: a
        report still reading would otherwise keep a connection the pool no longer knows)."""
        with self._quiet:
            self._closed = True
            self._quiet.notify_all()
        self._refresh.shutdown(wait=True, cancel_futures=True)
        self._background.shutdown(wait=True, cancel_futures=True)
        if self._warm_lock is not None:
            self._warm_lock.release()
            self._warm_lock = None
