"""`python -m budget_sim` runs the command line."""

from __future__ import annotations

from budget_sim.cli import main

if __name__ == "__main__":
    main(prog_name="budget-sim")
