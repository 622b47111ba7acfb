"""Benchmark-only: with `PYTHONPATH=benchmarks/funnel_off`, every Python process started (the
server and its workers) records no funnel event, so benchmarks/ingest.py can be run with and
without the funnel on the same code (BENCHMARKS.md, "Participation funnel")."""

from __future__ import annotations

import budget_sim.web.resident.funnel


def _nothing(*_args: object, **_kwargs: object) -> None:
    return None


budget_sim.web.resident.funnel.record = _nothing  # type: ignore[assignment]
