"""For analysts who script: a budget and its submissions as Polars data frames, with no server.
Documented with a runnable example in docs/analysts.md (the test suite runs it)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from budget_sim.data.package import load_package, load_package_files
from budget_sim.model import Budget
from budget_sim.settings import Settings
from budget_sim.storage import Database
from budget_sim.storage import headlines as headlines_db
from budget_sim.storage import packages as packages_db
from budget_sim.storage.exports import submissions_table
from budget_sim.storage.submissions import stored_versions


def load_budget(
    source: str | os.PathLike[str],
    *,
    database_url: str | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Budget:
    """A budget: `source` is a package folder (with its budget.toml), or a slug. A slug is
    looked up as residents get it: the newest revision published in the database at
    `database_url` if there is one, else the folder `<data_dir>/<slug>` (data_dir defaults to
    BUDGET_SIM_DATA_DIR). A package with problems raises budget_sim.errors.DataError."""
    folder = Path(source)
    if (folder / "budget.toml").is_file():
        return load_package(folder)
    slug = str(source)
    if database_url is not None:
        database = Database(database_url)
        try:
            with database.reading() as session:
                stored = (
                    packages_db.current_published(session, slug)
                    if packages_db.has_packages_table(database.read_engine)
                    else None
                )
        finally:
            database.dispose()
        if stored is not None:
            return load_package_files(slug, stored.manifest, stored.lines_name, stored.lines)
    base = Path(data_dir) if data_dir is not None else Settings().data_dir
    if not (base / slug / "budget.toml").is_file():
        raise LookupError(f"no budget {slug!r}: no published revision and no {base / slug}")
    return load_package(base / slug)


def load_submissions(
    database_url: str, slug: str, *, include_synthetic: bool = False
) -> pl.DataFrame:
    """One row per submission of budget `slug`, oldest first, as staff download them but in
    integer cents: `receipt`, `submitted_at` (UTC), `locale`, `synthetic`, `revision` (the
    uploaded revision it was made against; null for a budget on disk), `budget_version`, then
    one Int64 column per line (cents; null where the resident's version had no such line) in
    the order of the newest version, then lines only older versions had, then
    `answer.<question>` and `comment` / `comment.<line>` text columns. Submissions set aside
    by staff are left out, demo ones unless `include_synthetic`."""
    database = Database(database_url)
    try:
        versions = stored_versions(database.read_engine, slug)
        line_ids: list[str] = []
        for version in sorted(versions, reverse=True):  # the newest version's order first
            line_ids.extend(line for line in versions[version].line_ids if line not in line_ids)
        return submissions_table(
            database.read_engine, slug, line_ids, include_synthetic=include_synthetic
        )
    finally:
        database.dispose()


def shown_amounts(database_url: str, budget: Budget, table: pl.DataFrame) -> dict[str, dict]:
    """Per earlier version of `budget` that submissions in `table` were made against, the city's
    amounts those residents were shown (insights compare each resident with them). A version
    no longer stored is left out: its residents are compared with the current amounts."""
    if "budget_version" not in table.columns:
        return {}
    versions = table["budget_version"].unique().drop_nulls().to_list()
    found: dict[str, dict] = {}
    database = Database(database_url)
    try:
        with database.reading() as session:
            for version in versions:
                if version == budget.version:
                    continue
                stored = packages_db.revision_of_version(session, budget.slug, version)
                if stored is None:
                    continue
                earlier = load_package_files(
                    budget.slug, stored.manifest, stored.lines_name, stored.lines
                )
                found[version] = dict(earlier.lines.select("id", "amount").iter_rows())
    finally:
        database.dispose()
    return found


def headline_method(database_url: str, slug: str) -> str | None:
    """The method staff chose for budget `slug`'s headline (None: `insights.HEADLINE`)."""
    database = Database(database_url)
    try:
        with database.reading() as session:
            return headlines_db.chosen_method(session, slug)
    finally:
        database.dispose()
