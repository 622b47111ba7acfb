"""Which budget residents get for each slug, in every worker process, and the earlier versions
submissions were made against.

At start-up: every package in `budget_data/` (settings.data_dir; it changes only with a
deploy), then every package an admin published in the database (its newest published
revision) over them: a published database package wins over a disk package with the same slug.

After that the set follows the database, whichever process published: before a request, at
most every CHECK_SECONDS, one query on a covering index (`published_revisions`: the newest
published revision of each slug) says whether anything changed, and only a slug whose revision
changed is loaded again. The check runs in the threadpool, for one request at a time; requests
arriving meanwhile wait for it (the set counts as checked only once its check has ended, so none
is answered from a set older than CHECK_SECONDS). A lookup of a slug that is not in the set (and
could be one) checks at once, blocking its request for one indexed query (lookups missing at
the same moment share one check; a new package is loaded once per process). So a budget
published on one worker never gives a 404 on another, and a revision reaches every worker
within about CHECK_SECONDS of its publication. The newest published revision only ever grows
(storage/packages.py publishes under a row lock), so no worker goes back to an older one. If
the database cannot be reached, the set residents get stays as it was (logged once).

Every budget loaded is remembered by (slug, version), so a receipt can show the budget its
submission was made against even after a revision removed or renamed lines."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from budget_sim.data import load_all, package_files, read_package_files
from budget_sim.data.manifest import SLUG
from budget_sim.errors import DataError
from budget_sim.model import Budget
from budget_sim.settings import Settings
from budget_sim.storage import Database
from budget_sim.storage import packages as packages_db

logger = logging.getLogger("budget_sim")
CHECK_SECONDS = 0.5  # how stale a worker's set of budgets may be

# (slug, version) -> Budget. Versions are digests of the files, so an entry never goes stale.
_VERSIONS: dict[tuple[str, str], Budget] = {}


def remember(budget: Budget) -> Budget:
    _VERSIONS[(budget.slug, budget.version)] = budget
    return budget


def known_version(slug: str, version: str) -> Budget | None:
    """The budget `slug` at `version` if this process has loaded it (no database needed)."""
    return _VERSIONS.get((slug, version))


def load_budgets(settings: Settings, database: Database) -> dict[str, Budget]:
    """Disk packages, then published database packages over them, as of now (for the command
    line; the server keeps a Registry). A disk package with a problem stops the start
    (DataError); a stored package that no longer passes the checks is skipped with a warning."""
    return dict(Registry(settings, database).items())


class Registry(Mapping[str, Budget]):
    """slug -> the Budget residents get, kept current with the database (see the module's
    docstring). Reading it never waits for the database, except for a slug it does not have."""

    def __init__(
        self, settings: Settings, database: Database, *, check_seconds: float = CHECK_SECONDS
    ) -> None:
        self._database = database
        self._check_seconds = check_seconds
        disk = load_all(settings.data_dir)
        self._disk = {slug: remember(budget) for slug, budget in disk.items()}
        self._lock = threading.Lock()  # one check at a time
        self._revisions: dict[str, int] = {}  # slug -> the newest published revision seen
        self._stored: dict[str, Budget] = {}  # slug -> that revision, when it passes the checks
        self._budgets: dict[str, Budget] = dict(self._disk)  # replaced whole, never changed
        self._checked = time.monotonic()
        self._failing = False
        self._migrated = False
        with self._lock:
            self._check()  # at start-up a database that cannot be read stops the start

    # The set as of the last check; a dict that is replaced, never changed, so reading is safe.
    def __getitem__(self, slug: str) -> Budget:
        found = self._budgets.get(slug)
        if found is None and isinstance(slug, str) and SLUG.fullmatch(slug):
            self._check_on_miss()
            found = self._budgets.get(slug)
        if found is None:
            raise KeyError(slug)
        return found

    def __contains__(self, slug: object) -> bool:
        return self.get(slug) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._budgets)

    def __len__(self) -> int:
        return len(self._budgets)

    def keys(self) -> KeysView[str]:
        return self._budgets.keys()

    def values(self) -> ValuesView[Budget]:
        return self._budgets.values()

    def items(self) -> ItemsView[str, Budget]:
        return self._budgets.items()

    def due(self) -> bool:
        return time.monotonic() - self._checked >= self._check_seconds

    def refresh(self) -> bool:
        """Check now (after this process published); True if the set changed."""
        with self._lock:
            return self._check()

    def refresh_if_due(self) -> None:
        """Check if the last check is CHECK_SECONDS old. A request that finds a check under way
        waits for it (about a millisecond) rather than answer with what may be older."""
        if not self.due():
            return
        with self._lock:
            if self.due():
                self._check_quietly()

    def _check_on_miss(self) -> None:
        """Check, unless a check that began after this miss has ended meanwhile (concurrent
        misses share one), or the database is failing (the periodic check finds it back)."""
        missed = time.monotonic()
        if self._failing:
            return
        with self._lock:
            if self._checked < missed:
                self._check_quietly()

    def _check_quietly(self) -> None:
        try:
            self._check()
        except Exception:
            self._checked = time.monotonic()  # keep serving; ask again in CHECK_SECONDS
            if not self._failing:
                logger.exception("could not check the published budgets; serving the last set")
            self._failing = True
        else:
            if self._failing:
                logger.warning("published budgets checked again")
            self._failing = False

    def _check(self) -> bool:
        """Check, and only then mark the set as checked (as of when the check began): until it
        ends, requests that arrive find the set due and wait for this check on the lock."""
        started = time.monotonic()
        try:
            return self._load_changes()
        finally:
            self._checked = started

    def _load_changes(self) -> bool:
        """Ask which revision of each slug is the newest published; load those that changed."""
        if not self._migrated:
            if not packages_db.has_packages_table(self._database.read_engine):
                return False  # not migrated yet: no admin can have published anything
            self._migrated = True
        with self._database.reading() as session:
            newest = packages_db.published_revisions(session)
            changed = {s: r for s, r in newest.items() if self._revisions.get(s) != r}
            packages = [packages_db.get_revision(session, s, r) for s, r in changed.items()]
        if not changed:
            return False
        stored = dict(self._stored)
        for package in packages:
            if package is None:  # published revisions are never deleted; be safe anyway
                continue
            budget = _loaded(package)
            if budget is None:
                stored.pop(package.slug, None)
            else:
                stored[package.slug] = budget
        self._revisions = {**self._revisions, **changed}
        self._stored = stored
        self._budgets = {**self._disk, **stored}
        return True


class FreshBudgetsMiddleware:
    """Before each request, bring the registry (`state["budgets"]`) up to date if it is due."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            budgets = scope.get("state", {}).get("budgets")
            if isinstance(budgets, Registry) and budgets.due():
                await run_in_threadpool(budgets.refresh_if_due)
        await self.app(scope, receive, send)


def _loaded(package: packages_db.StoredPackage) -> Budget | None:
    """A stored package as a Budget; None (and a warning in the log) when it no longer passes
    the checks, so one bad upload cannot keep the site down."""
    budget, problems = read_package_files(
        package.slug, package.manifest, package.lines_name, package.lines
    )
    if budget is None:
        logger.warning(
            "published budget %s revision %s not loaded: %s",
            package.slug,
            package.revision,
            "; ".join(str(problem) for problem in problems),
        )
        return None
    return remember(budget)


def budget_at(database: Database, slug: str, version: str) -> Budget | None:
    """The budget `slug` as it was at `version` (Budget.version), if it is still known: loaded
    since start-up, or stored in the database as a revision."""
    known = _VERSIONS.get((slug, version))
    if known is not None or not version:
        return known
    with database.reading() as session:
        package = packages_db.revision_of_version(session, slug, version)
    if package is None:
        return None
    budget, _problems = read_package_files(
        package.slug, package.manifest, package.lines_name, package.lines
    )
    return remember(budget) if budget is not None else None


def current_files(
    settings: Settings, database: Database, slug: str
) -> tuple[bytes, str, bytes] | None:
    """(budget.toml, lines file name, lines file) of what residents get for `slug` now: its
    newest published database revision, else its disk package; None when there is neither."""
    with database.reading() as session:
        package = packages_db.current_published(session, slug)
    if package is not None:
        return package.manifest, package.lines_name, package.lines
    folder = Path(settings.data_dir) / slug
    if not (folder / "budget.toml").is_file():
        return None
    try:
        return package_files(folder)
    except DataError:
        return None
