"""Insights over submissions (Polars only: no SQL, no HTTP)."""

from __future__ import annotations

from budget_sim.insights.aggregate import METHODS, aggregate, aggregate_many
from budget_sim.insights.headline import HEADLINE

__all__ = ["HEADLINE", "METHODS", "aggregate", "aggregate_many"]
