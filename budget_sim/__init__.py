"""budget-sim: an open-source participatory budget simulator.

For scripts: `budget_sim.load_budget(...)` and `budget_sim.load_submissions(...)` (see
docs/analysts.md); imported on first use, so `import budget_sim` stays light."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_budget", "load_submissions"]


def __getattr__(name: str) -> Any:
    if name in ("load_budget", "load_submissions"):
        from budget_sim import analysis

        return getattr(analysis, name)
    raise AttributeError(f"module 'budget_sim' has no attribute {name!r}")
