"""Insights over submissions (Polars only: no SQL, no HTTP)."""

from __future__ import annotations

from budget_sim.insights.aggregate import METHODS, aggregate
from budget_sim.insights.lines import LINE_STATS_SCHEMA, line_stats

__all__ = ["LINE_STATS_SCHEMA", "METHODS", "aggregate", "line_stats"]
