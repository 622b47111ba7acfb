"""Budget packages on disk: reading, checking and importing them.

A package is a folder `budget_data/<slug>/` holding `budget.toml` and `lines.csv` (or
`lines.xlsx`); budget_data/README.md documents the format. Every reader reports every problem
it finds, each with file, row and column, as `Problem`s (raised together in a `DataError`)."""

from __future__ import annotations

from budget_sim.data.compose import compose_manifest, dump_toml, manifest_fields
from budget_sim.data.importer import SOURCE_COLUMNS, import_source
from budget_sim.data.package import (
    check_package,
    load_all,
    load_package,
    load_package_files,
    package_digest,
    package_files,
    read_package_files,
)

__all__ = [
    "SOURCE_COLUMNS",
    "check_package",
    "compose_manifest",
    "dump_toml",
    "import_source",
    "load_all",
    "load_package",
    "load_package_files",
    "manifest_fields",
    "package_digest",
    "package_files",
    "read_package_files",
]
