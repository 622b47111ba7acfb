"""Which budget residents get for each slug, and the earlier versions submissions were made
against.

At start-up: every package in `budget_data/` (settings.data_dir), then every package an admin
published in the database (its newest published revision). A published database package wins
over a disk package with the same slug. Publishing replaces the entry of the shared registry
(`request.state.budgets`) at once in this process; other processes see it when they restart.

Every budget loaded is remembered by (slug, version), so a receipt can show the budget its
submission was made against even after a revision removed or renamed lines."""

from __future__ import annotations

import logging
from pathlib import Path

from budget_sim.data import load_all, package_files, read_package_files
from budget_sim.errors import DataError
from budget_sim.model import Budget
from budget_sim.settings import Settings
from budget_sim.storage import Database
from budget_sim.storage import packages as packages_db

logger = logging.getLogger("budget_sim")

# (slug, version) -> Budget. Versions are digests of the files, so an entry never goes stale.
_VERSIONS: dict[tuple[str, str], Budget] = {}


def remember(budget: Budget) -> Budget:
    _VERSIONS[(budget.slug, budget.version)] = budget
    return budget


def load_budgets(settings: Settings, database: Database) -> dict[str, Budget]:
    """Disk packages, then published database packages over them. A disk package with a
    problem stops the start (DataError); a stored package that no longer passes the checks is
    skipped with a warning in the log, so one bad upload cannot keep the site down."""
    budgets = {slug: remember(budget) for slug, budget in load_all(settings.data_dir).items()}
    if not packages_db.has_packages_table(database.read_engine):
        return budgets  # not migrated yet: no admin can have published anything
    with database.reading() as session:
        stored = packages_db.published_packages(session)
    for package in stored:
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
            continue
        budgets[package.slug] = remember(budget)
    return budgets


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
