"""The exceptions budget-sim raises, in one tree.

* BudgetSimError
  + DataError   a budget package or uploaded file is unusable; carries every Problem found
  + NotFound    no such budget, receipt or page
  + Conflict    the request clashes with stored state (e.g. a ballot token reused for other amounts)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where it is and what is allowed."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class BudgetSimError(Exception):
    """Base class of every error budget-sim raises on purpose."""


class DataError(BudgetSimError):
    """A budget package (or uploaded budget file) has problems; `problems` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class NotFound(BudgetSimError):
    """The thing asked for does not exist (or is not public)."""


class Conflict(BudgetSimError):
    """The request contradicts what is already stored."""
