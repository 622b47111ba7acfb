"""Budget packages: a folder with budget.toml and lines.csv (or lines.xlsx) -> Budget."""

from __future__ import annotations

import hashlib
import re
import tempfile
import tomllib
from dataclasses import replace
from pathlib import Path

import polars as pl

from budget_sim.data.lines import LOCALIZED_PREFIXES, read_lines
from budget_sim.data.manifest import SLUG, Manifest, read_manifest
from budget_sim.data.order import ordered
from budget_sim.data.table import read_table
from budget_sim.errors import DataError, Problem
from budget_sim.model.budget import Budget

MANIFEST = "budget.toml"
LINE_FILES = ("lines.csv", "lines.xlsx")
LINES_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(csv|xlsx)")


def _read(path: Path) -> tuple[Budget | None, list[Problem]]:
    path = Path(path)
    folder = path.name
    manifest_file = f"{folder}/{MANIFEST}"
    if not path.is_dir():
        return None, [
            Problem(
                str(path),
                "not a folder: a budget package is a folder holding budget.toml and lines.csv",
            )
        ]
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        return None, [Problem(manifest_file, "file not found: every package needs budget.toml")]
    manifest_bytes = manifest_path.read_bytes()
    manifest, rules, problems = read_manifest(manifest_bytes, manifest_file, folder)

    if manifest is not None and manifest.lines_file:
        lines_path = path / manifest.lines_file
        if not lines_path.is_file():
            problems.append(
                Problem(
                    manifest_file,
                    f"lines_file {manifest.lines_file!r} not found in {folder}/",
                    column="lines_file",
                )
            )
            return None, problems
    else:
        found = [path / name for name in LINE_FILES if (path / name).is_file()]
        if not found:
            problems.append(
                Problem(f"{folder}/lines.csv", "file not found: add lines.csv (or lines.xlsx)")
            )
            return None, problems
        lines_path = found[0]
    lines_file = f"{folder}/{lines_path.name}"
    table, table_problems = read_table(lines_path, lines_file)
    problems.extend(table_problems)
    if table is None:
        return None, problems
    frame, line_problems = read_lines(table, rules)
    problems.extend(line_problems)
    if problems or manifest is None or frame is None:
        return None, problems

    frame = ordered(frame, manifest.order)
    digest = package_digest(manifest_bytes, lines_path.read_bytes())
    households, population = manifest.households, manifest.population
    opens_at, closes_at = manifest.window()
    budget = Budget(
        slug=manifest.slug,
        city=manifest.city,
        fiscal_year=manifest.fiscal_year,
        title=manifest.title["en"],
        lines=_base_lines(frame),
        rules=manifest.rules_value(),
        currency=manifest.currency,
        intro=manifest.intro["en"] if manifest.intro else "",
        households=households.count if households else None,
        households_source=households.source if households else "",
        population=population.count if population else None,
        population_source=population.source if population else "",
        questions=manifest.questions_value(),
        locales=tuple(manifest.locales),
        embed_origins=tuple(manifest.embed_origins),
        source=manifest.source.text,
        version=digest[:16],
        country=manifest.country,
        opens_at=opens_at,
        closes_at=closes_at,
        timezone=manifest.timezone,
    )
    variants = {lang: _variant(budget, manifest, frame, lang) for lang in manifest.locales}
    variants["en"] = budget
    for variant in variants.values():
        object.__setattr__(variant, "variants", variants)
    return budget, []


def package_digest(manifest: bytes, lines: bytes) -> str:
    """SHA-256 of a package's files; its first 16 hex digits are the budget's `version`."""
    return hashlib.sha256(manifest + lines).hexdigest()


def _base_lines(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(name for name in frame.columns if not name.startswith(LOCALIZED_PREFIXES))


def _variant(budget: Budget, manifest: Manifest, frame: pl.DataFrame, lang: str) -> Budget:
    """The budget with its texts in `lang`; each missing text stays in English."""
    texts = {
        column: pl.coalesce(
            pl.when(pl.col(f"{column}_{lang}") != "").then(pl.col(f"{column}_{lang}")),
            pl.col(column),
        )
        for column in ("department", "program", "description", "consequences")
        if f"{column}_{lang}" in frame.columns
    }
    return replace(
        budget,
        locale=lang,
        title=manifest.title.get(lang, budget.title),
        intro=manifest.intro.get(lang, budget.intro) if manifest.intro else "",
        lines=_base_lines(frame.with_columns(**texts)),
        questions=tuple(question.in_locale(lang) for question in budget.questions),
    )


def check_package(path: Path) -> list[Problem]:
    """Every problem of the package at `path`; an empty list when it is fine."""
    return _read(path)[1]


def load_package(path: Path) -> Budget:
    """The budget in the package at `path`. Raises DataError listing every problem."""
    budget, problems = _read(path)
    if problems or budget is None:
        raise DataError(problems)
    return budget


def read_package_files(
    slug: str, manifest: bytes, lines_name: str, lines: bytes
) -> tuple[Budget | None, list[Problem]]:
    """The budget in files that are not in a folder (an upload, a stored revision), checked
    exactly as `check_package` checks a folder `slug/` holding `budget.toml` and `lines_name`:
    same rules, same messages, problems named `slug/budget.toml` and `slug/<lines_name>`."""
    if not SLUG.fullmatch(slug):
        raise ValueError(f"not a budget slug: {slug!r}")
    if not LINES_NAME.fullmatch(lines_name):
        raise ValueError(f"not a lines file name: {lines_name!r}")
    with tempfile.TemporaryDirectory(prefix="budget-sim-") as scratch:
        folder = Path(scratch) / slug
        folder.mkdir()
        (folder / MANIFEST).write_bytes(manifest)
        (folder / lines_name).write_bytes(lines)
        return _read(folder)


def load_package_files(slug: str, manifest: bytes, lines_name: str, lines: bytes) -> Budget:
    """Like `read_package_files`; raises DataError listing every problem."""
    budget, problems = read_package_files(slug, manifest, lines_name, lines)
    if problems or budget is None:
        raise DataError(problems)
    return budget


def package_files(path: Path) -> tuple[bytes, str, bytes]:
    """The files of the package folder at `path` as `_read` picks them:
    (budget.toml bytes, lines file name, lines file bytes). Raises DataError when missing."""
    path = Path(path)
    manifest = (path / MANIFEST).read_bytes()
    try:
        declared = tomllib.loads(manifest.decode("utf-8")).get("lines_file")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        declared = None
    names = [declared] if isinstance(declared, str) else list(LINE_FILES)
    for name in names:
        if LINES_NAME.fullmatch(name) and (path / name).is_file():
            return manifest, name, (path / name).read_bytes()
    raise DataError([Problem(f"{path.name}/lines.csv", "file not found")])


def package_folders(data_dir: Path) -> list[Path]:
    """Subfolders of `data_dir` holding a budget.toml, by name."""
    return sorted(
        child
        for child in Path(data_dir).iterdir()
        if child.is_dir() and not child.name.startswith(".") and (child / MANIFEST).is_file()
    )


def load_all(data_dir: Path) -> dict[str, Budget]:
    """Every package under `data_dir`, keyed by slug. Raises DataError with the problems of all
    packages if any has one."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError([Problem(str(data_dir), "budget data folder not found")])
    budgets: dict[str, Budget] = {}
    problems: list[Problem] = []
    for folder in package_folders(data_dir):
        budget, found = _read(folder)
        problems.extend(found)
        if budget is not None:
            budgets[budget.slug] = budget
    if problems:
        raise DataError(problems)
    return budgets
