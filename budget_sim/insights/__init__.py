"""Insights over submissions (Polars only: no SQL, no HTTP)."""

from __future__ import annotations

from budget_sim.insights.aggregate import METHODS, aggregate, aggregate_many

__all__ = ["METHODS", "aggregate", "aggregate_many"]
