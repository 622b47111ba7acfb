"""No discoveries in noise: p-values and the Benjamini-Hochberg false discovery rate control.

A table of findings (the segment splits of one comparison, the trade-off pairs) tests many
differences at once; at 95% each, about one in twenty would look "clear" by chance alone. Each
table is one family: its p-values are adjusted with Benjamini and Hochberg's step-up procedure
(1995) and only the differences whose adjusted p-value (q-value) is at most `FDR` are called
clear. Then, in expectation, at most 5% of what a table calls clear is chance, and when nothing
is really there (random answers), the table calls nothing clear 95% of the time or more.

SciPy's `scipy.stats.false_discovery_control` does the same adjustment, but SciPy is not a
dependency of this project (nor is NumPy): the step-up is a dozen lines, and the two
distributions it needs (normal, chi-square with whole degrees of freedom) have closed forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

FDR = 0.05  # the false discovery rate the tables are controlled at


def normal_two_sided(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for X chi-square with `df` (a whole number >= 1) degrees of freedom: the
    regularised upper incomplete gamma function Q(df/2, x/2) in closed form (a finite sum)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:  # Q(m, h) = e^-h * sum_{j<m} h^j / j!
        term = total = 1.0
        for j in range(1, df // 2):
            term *= half / j
            total += term
        return min(1.0, math.exp(-half) * total)
    # Odd: Q(1/2, h) = erfc(sqrt h), then Q(a + 1, h) = Q(a, h) + h^a e^-h / Gamma(a + 1).
    total = math.erfc(math.sqrt(half))
    term = math.exp(-half) * math.sqrt(half) / math.gamma(1.5)  # h^(1/2) e^-h / Gamma(3/2)
    for j in range(1, (df + 1) // 2):
        total += term
        term *= half / (j + 0.5)
    return min(1.0, total)


def adjust(p_values: list[float | None]) -> list[float | None]:
    """Benjamini-Hochberg q-values of a list of p-values (None: not tested, not counted)."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    out: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, i = tested[rank - 1]
        running = min(running, p * m / rank)
        out[i] = min(1.0, running)
    return out


@dataclass(frozen=True)
class Family:
    """One table of tests after the false discovery rate control: `tests` differences were
    tested (m), `clear` of them remain (k)."""

    tests: int
    clear: int
    what: str  # what was tested, plural: "differences between answers", "pairs of lines"

    @property
    def sentence(self) -> str:
        return (
            f"{self.clear:,} of {self.tests:,} {self.what} remain after controlling the false "
            f"discovery rate at {FDR:.0%} (Benjamini-Hochberg)."
        )

    @classmethod
    def of(cls, q: pl.Series, what: str) -> Family:
        tested = q.drop_nulls()
        return cls(tested.len(), int((tested <= FDR).sum()), what)
