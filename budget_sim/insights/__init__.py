"""Insights over submissions (Polars only: no SQL, no HTTP)."""

from __future__ import annotations

from budget_sim.insights.aggregate import METHODS, aggregate

__all__ = ["METHODS", "aggregate"]
