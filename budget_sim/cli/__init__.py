"""The `budget-sim` command (Click). Errors are one line on stderr and a non-zero exit, never a
traceback; `budget-sim COMMAND --help` documents every option."""

from __future__ import annotations

import click

from budget_sim import __version__
from budget_sim.cli import analysts, budgets, site, staff
from budget_sim.cli.context import Commands


@click.group(
    "budget-sim",
    cls=Commands,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.version_option(__version__, "-V", "--version", prog_name="budget-sim")
def main() -> None:
    """budget-sim: an open-source participatory budget simulator.

    Settings come from BUDGET_SIM_* environment variables or a .env file (see the README)."""


for command in (
    site.serve,
    site.db,
    site.backup,
    budgets.check,
    budgets.import_,
    budgets.demo,
    budgets.insights,
    budgets.embed,
    analysts.export,
    analysts.create_token,
    staff.create_staff,
):
    main.add_command(command)
