"""What the staff dashboard shows, computed with Polars over the submissions table (one row per
submission, one column per line in cents, `answer.<question>` and `comment...` columns).

Definitions follow research/aggregation.md §4-§5: weighted means with CLT intervals using Kish's
effective sample size, Wilson intervals for shares, post-stratification weights
w = (N_s / N) / (n_s / n) by district population."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from budget_sim.insights.aggregate import METHODS, aggregate, aggregate_many
from budget_sim.model import Question
from budget_sim.money import largest_remainder

Z95 = 1.959963984540054  # two-sided 95% normal quantile
VERSION = "budget_version"  # the submissions table's column: the version each was made against
# The city's amounts of the earlier versions of a budget that submissions were made against:
# version (Budget.version) -> line id -> cents. What each of those residents was shown.
Shown = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Weights:
    """Post-stratification weights (one per submission) and what they rest on."""

    values: pl.Series
    n_eff: float
    question: str  # the district question used (raked: the questions, comma-separated)
    note: str  # how the weights were made, in plain words

    @property
    def design_effect(self) -> float:
        """Kish's design effect of weighting, n / n_eff: how much variances grow."""
        return self.values.len() / self.n_eff if self.n_eff else float("inf")


def kish_n_eff(weights: pl.Series) -> float:
    """Kish's effective sample size (Σw)² / Σw² (aggregation.md §4.6)."""
    total, squares = float(weights.sum()), float((weights**2).sum())
    return total * total / squares if squares else 0.0


def per_day(table: pl.DataFrame) -> pl.DataFrame:
    """Submissions per UTC day: day, submissions, running total."""
    return (
        table.group_by(day=pl.col("submitted_at").dt.date())
        .agg(submissions=pl.len())
        .sort("day")
        .with_columns(total=pl.col("submissions").cum_sum())
    )


def by_district(table: pl.DataFrame, question: Question) -> pl.DataFrame:
    """Participation per option of a district question against its population (when known).
    Shares of submissions are among those who answered."""
    column = f"answer.{question.id}"
    answered = (
        table.get_column(column) if column in table.columns else pl.Series([], dtype=pl.String)
    )
    counts = answered.drop_nulls().value_counts(name="submissions")
    options = pl.DataFrame(
        {
            "option": [o.id for o in question.options],
            "label": [o.label for o in question.options],
            "population": [o.population for o in question.options],
        },
        schema={"option": pl.String, "label": pl.String, "population": pl.Float64},
    )
    counts = counts.rename({counts.columns[0]: "option"}).cast({"option": pl.String})
    frame = options.join(counts, on="option", how="left").with_columns(
        pl.col("submissions").fill_null(0).cast(pl.Int64)
    )
    answered_total = frame["submissions"].sum()
    population_total = frame["population"].sum()
    return frame.with_columns(
        share=pl.col("submissions") / answered_total
        if answered_total
        else pl.lit(None, pl.Float64),
        population_share=pl.col("population") / population_total if population_total else None,
        per_10k_residents=pl.col("submissions") / pl.col("population") * 10_000,
    )


def district_weights(table: pl.DataFrame, question: Question) -> Weights | None:
    """Post-stratification by district population, or None when populations are unknown.

    Residents who named a district with a known population are reweighted so each district
    counts in proportion to its population; the others keep weight 1 (their share of the
    sample is left as it is)."""
    known = {o.id: o.population for o in question.options if o.population}
    column = f"answer.{question.id}"
    if not known or column not in table.columns or table.is_empty():
        return None
    answer = table.get_column(column)
    in_known = answer.is_in(list(known))
    answered = int(in_known.sum())
    if answered == 0:
        return None
    counts = answer.filter(in_known).value_counts(name="n")
    n_s = dict(zip(counts[counts.columns[0]].to_list(), counts["n"].to_list(), strict=True))
    # Districts nobody answered from cannot be weighted up; the others share their population.
    population = sum(known[k] for k in n_s)
    factor = {k: (known[k] / population) / (n_s[k] / answered) for k in n_s}
    values = answer.replace_strict(factor, default=1.0, return_dtype=pl.Float64).fill_null(1.0)
    note = (
        f"{answered:,} of {table.height:,} submissions named a district with a known population "
        "and are weighted so that each district counts in proportion to its population; "
        f"the others keep weight 1. {len(n_s)} of {len(known)} districts have submissions."
    )
    return Weights(values.rename("weight"), kish_n_eff(values), question.id, note)


def _wilson(share: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval for a share observed over n (here: the effective sample size)."""
    z2 = Z95 * Z95
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * (share * (1 - share) / n + z2 / (4 * n * n)).sqrt() / (1 + z2 / n)
    return centre - half, centre + half


def line_columns(lines: pl.DataFrame) -> pl.DataFrame:
    """A budget's lines as the insight tables start them: id, names, kind, city's amount."""
    return lines.select(
        line_id="id",
        department="department",
        program="program",
        kind="kind",
        city="amount",
        locked="locked",
    )


def interval_columns(n: pl.Expr) -> dict[str, pl.Expr]:
    """From `mean`, `var`, `raised` and `cut` observed over an (effective) sample of n: the
    mean's CLT 95% interval, Wilson 95% intervals of the shares, the share kept, net support."""
    raised_low, raised_high = _wilson(pl.col("raised"), n)
    cut_low, cut_high = _wilson(pl.col("cut"), n)
    half = Z95 * (pl.col("var") / n).sqrt()
    return {
        "mean_low": pl.col("mean") - half,
        "mean_high": pl.col("mean") + half,
        "raised_low": raised_low,
        "raised_high": raised_high,
        "cut_low": cut_low,
        "cut_high": cut_high,
        "kept": 1 - pl.col("raised") - pl.col("cut"),
        "net_support": pl.col("raised") - pl.col("cut"),
    }


STATISTICS = ("mean", "var", "q1", "median", "q3", "raised", "cut", "seen", "seen_eff")


def baseline(table: pl.DataFrame, key: str, amount: int, shown: Shown | None) -> pl.Expr | int:
    """What each resident was shown for line `key`: the city's `amount` now, or, for residents
    who submitted against an earlier version that had another amount, that amount."""
    if not shown or VERSION not in table.columns:
        return amount
    earlier = {v: a[key] for v, a in shown.items() if key in a and a[key] != amount}
    if not earlier:
        return amount
    return pl.col(VERSION).replace_strict(earlier, default=amount, return_dtype=pl.Int64)


def revised_lines(lines: pl.DataFrame, shown: Shown | None) -> set[str]:
    """The lines whose city amount differs between the versions residents were shown."""
    if not shown:
        return set()
    return {
        key
        for key, amount in lines.select("id", "amount").iter_rows()
        if any(key in a and a[key] != amount for a in shown.values())
    }


def moments(x: pl.Expr, base: int, *, weighted: bool, gaps: bool) -> list[pl.Expr]:
    """Mean, variance and the shares raising and cutting of one line's amounts `x`, counting
    only residents with an amount on it (`gaps`: some have none, because a revision added the
    line after they submitted); weighted by the column `__w` if `weighted`. `base` is what each
    resident was shown (an expression when a revision changed it). Also `seen`, how many had
    an amount on it, and `seen_eff`, their (Kish) effective number."""
    if not weighted:  # the same, without a column of ones: about twice as fast
        return [
            x.mean().alias("mean"),
            x.var(ddof=0).alias("var"),
            (x > base).mean().alias("raised"),
            (x < base).mean().alias("cut"),
            x.count().cast(pl.Float64).alias("seen"),
            x.count().cast(pl.Float64).alias("seen_eff"),
        ]
    weight = pl.col("__w")
    if gaps:
        weight = pl.when(x.is_not_null()).then(weight).otherwise(0.0)
    total_weight = weight.sum()
    mean = (x * weight).sum() / total_weight
    return [
        mean.alias("mean"),
        (((x - mean) ** 2) * weight).sum().truediv(total_weight).alias("var"),
        weight.filter(x > base).sum().truediv(total_weight).alias("raised"),
        weight.filter(x < base).sum().truediv(total_weight).alias("cut"),
        x.count().cast(pl.Float64).alias("seen"),
        (total_weight**2 / (weight**2).sum()).alias("seen_eff"),
    ]


def line_statistics(
    table: pl.DataFrame, lines: pl.DataFrame, *, weighted: bool, shown: Shown | None = None
) -> list[pl.Expr]:
    """Per line, `<line id>\t<statistic>` for each of STATISTICS of `table`'s amounts: one
    query computes them all (in a select, or per group in a group-by; with `shown`, the frame
    needs the VERSION column). Raising and cutting are against what each resident was shown."""
    ids = [key for key in lines["id"] if key in table.columns]
    gaps = {
        key for key, count in table.select(ids).null_count().row(0, named=True).items() if count
    }
    expressions = []
    for key, base in lines.select("id", "amount").iter_rows():
        x = pl.col(key).cast(pl.Float64)
        statistics = [
            *moments(x, baseline(table, key, base, shown), weighted=weighted, gaps=key in gaps),
            x.quantile(0.25, "linear").alias("q1"),
            x.median().alias("median"),
            x.quantile(0.75, "linear").alias("q3"),
        ]
        expressions += [e.name.prefix(f"{key}\t") for e in statistics]
    return expressions


def line_table(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    weights: pl.Series | None = None,
    shown: Shown | None = None,
) -> pl.DataFrame:
    """Per line, in the budget's order: city's amount, n (`submissions`: the residents who saw
    the line), (weighted) mean with its 95% CI, median and quartiles, shares raising / cutting /
    keeping with Wilson 95% CIs, and net support (raising minus cutting), each resident against
    the amount they were shown (`shown`: earlier versions' amounts; `revised` marks the lines
    a revision changed). Amounts in cents; shares in [0, 1]."""
    n = table.height
    frame = table if weights is None else table.with_columns(weights.alias("__w"))
    expressions = line_statistics(table, lines, weighted=weights is not None, shown=shown)
    stats = pl.DataFrame()
    if n and expressions:
        wide = frame.select(expressions).row(0, named=True)
        stats = pl.DataFrame(
            {
                "line_id": lines["id"],
                **{name: [wide[f"{key}\t{name}"] for key in lines["id"]] for name in STATISTICS},
            },
            schema_overrides=dict.fromkeys(STATISTICS, pl.Float64),
        )
    base = line_columns(lines).with_columns(
        revised=pl.col("line_id").is_in(list(revised_lines(lines, shown)))
    )
    if stats.is_empty() or n == 0:
        return base.with_columns(submissions=pl.lit(0))
    return (
        base.join(stats, on="line_id", how="left", maintain_order="left")
        .with_columns(
            submissions=pl.col("seen").fill_null(0).cast(pl.Int64),
            **interval_columns(pl.col("seen_eff").clip(lower_bound=1.0)),
        )
        .drop("var", "seen", "seen_eff")
    )


def movable_spending(lines: pl.DataFrame) -> pl.DataFrame:
    """The spending lines residents could move (locked lines stay at the city's amount)."""
    return lines.filter((pl.col("kind") == "expense") & ~pl.col("locked"))


def per_revision(table: pl.DataFrame, current: str) -> list[dict]:
    """Submissions per budget version they were made against, oldest revision first: revision
    (None for a package on disk), budget_version, submissions, current (the one served now)."""
    if table.is_empty() or VERSION not in table.columns:
        return []
    counts = (
        table.group_by("revision", VERSION)
        .agg(submissions=pl.len(), first=pl.col("submitted_at").min())
        .sort("first")
    )
    return [
        {**row, "current": row[VERSION] == current}
        for row in counts.drop("first").iter_rows(named=True)
    ]


def whole_budget_rows(table: pl.DataFrame, lines: pl.DataFrame) -> pl.Series:
    """Which submissions the whole-budget figures count: those with an amount on every current
    spending line residents could move (a resident who submitted before a revision added a
    line never saw it, and is not counted as giving it nothing) that spend something."""
    spend = movable_spending(lines)["id"].to_list()
    if not spend:
        return pl.Series([False] * table.height, dtype=pl.Boolean)
    spends = pl.sum_horizontal(pl.col(c).cast(pl.Float64).clip(lower_bound=0) for c in spend) > 0
    if not any(table.select(spend).null_count().row(0)):  # no revision added a line: all saw all
        return table.select(spends).to_series()
    saw_all = pl.all_horizontal(pl.col(c).is_not_null() for c in spend)
    return table.select(saw_all & spends).to_series()


def spending_shares(table: pl.DataFrame, lines: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Each counted submission's spending (`whole_budget_rows`) on the lines residents could
    move (locked lines stay at the city's amount), rescaled to sum to 1: how each resident
    would split whatever they chose to spend on them."""
    spend = movable_spending(lines)["id"].to_list()
    keep = whole_budget_rows(table, lines)
    amounts = table.filter(keep).select(
        pl.col(c).cast(pl.Float64).clip(lower_bound=0) for c in spend
    )
    shares = amounts.with_columns(pl.all() / amounts.sum_horizontal())
    return shares, spend


WHOLE_BUDGET_METHODS = METHODS


def whole_budget(
    table: pl.DataFrame, lines: pl.DataFrame, weights: pl.Series | None = None
) -> pl.DataFrame:
    """The spending lines under each aggregation method next to the city's own figures. Rows:
    lines; columns: city and one per method (whole cents). Locked lines stay at the city's
    amount under every method; the methods share out only what residents could move (the
    city's spending on unlocked lines), rounded by largest remainder so that each method's
    lines add up to the city's total."""
    shares, spend = spending_shares(table, lines)
    city = lines.filter(pl.col("kind") == "expense")
    total = float(movable_spending(lines)["amount"].sum())
    frame = city.select(line_id="id", department="department", program="program", city="amount")
    if shares.is_empty():
        return frame
    kept_weights = _kept_weights(table, lines, weights)
    results = aggregate_many(shares, total=1.0, methods=WHOLE_BUDGET_METHODS, weights=kept_weights)
    position = {key: j for j, key in enumerate(spend)}
    amounts = city.select("id", "amount").rows()

    def cents(values: list[float]) -> list[int]:
        rounded = largest_remainder([value * total for value in values])
        return [rounded[position[key]] if key in position else amount for key, amount in amounts]

    return frame.with_columns(
        pl.Series(method, cents(values), dtype=pl.Int64) for method, values in results.items()
    )


class Stopped(Exception):
    """A computation was asked to stop before it finished."""


# Above BOOTSTRAP_ROWS residents, intervals come from at most SUBSAMPLE_DRAWS subsamples of this
# size (m-out-of-n): a draw then costs the same at any n, so the headline's intervals at 100,000
# residents take seconds, not minutes (issue 10, point 8; BENCHMARKS.md), for every method.
BOOTSTRAP_ROWS = 1_000
SUBSAMPLE_DRAWS = 100


@dataclass(frozen=True)
class Interval:
    """95% intervals of a method's spending allocation per line (cents), and how they were made."""

    bounds: pl.DataFrame  # line_id, low, high
    method: str  # "bootstrap" or "subsampling"
    resamples: int
    rows: int  # residents in each resample

    @property
    def note(self) -> str:
        if self.method == "bootstrap":
            return (
                f"Percentile intervals from {self.resamples} bootstrap resamples of the "
                f"{self.rows:,} residents (drawn with replacement)."
            )
        return (
            f"Subsampling intervals: {self.resamples} random subsets of {self.rows:,} residents "
            "(drawn without replacement); how much the figure moves between subsets, scaled by "
            "the square root of subset size over the residents left out, estimates how much it "
            "would move if the whole sample were drawn again (Politis and Romano). They show "
            "chance only: with this many residents, who took part matters more."
        )


def bootstrap_interval(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    method: str = "independent_markets",
    weights: pl.Series | None = None,
    resamples: int = 200,
    seed: int = 0,
    max_rows: int = BOOTSTRAP_ROWS,
    should_stop: Callable[[], bool] | None = None,
) -> Interval:
    """95% intervals of a method's spending allocation (aggregation.md §4.5). Up to `max_rows`
    residents: percentile bootstrap, resampling residents with replacement. Above: subsampling,
    `max_rows` residents without replacement per draw, deviations from the full-sample estimate
    scaled by sqrt(m / (n - m)), at most SUBSAMPLE_DRAWS draws; each costs the same whatever n
    is. `should_stop` is asked before each draw; when it says yes, Stopped is raised."""
    shares, spend = spending_shares(table, lines)
    kept = _kept_weights(table, lines, weights)
    total = float(movable_spending(lines)["amount"].sum())
    fixed = lines.filter((pl.col("kind") == "expense") & pl.col("locked"))
    locked = pl.DataFrame(  # a locked line's amount is the city's, without any uncertainty
        {"line_id": fixed["id"], "low": fixed["amount"], "high": fixed["amount"]},
        schema={"line_id": pl.String, "low": pl.Float64, "high": pl.Float64},
    )
    n = shares.height
    if n < 2:
        empty = pl.DataFrame(
            {"line_id": spend, "low": [None] * len(spend), "high": [None] * len(spend)},
            schema={"line_id": pl.String, "low": pl.Float64, "high": pl.Float64},
        )
        return Interval(pl.concat([empty, locked]), "bootstrap", 0, n)
    indexed = shares.with_columns(
        __w=kept if kept is not None else pl.lit(1.0), __row=pl.int_range(n, dtype=pl.Int64)
    )
    draws = []
    subsample = n > max_rows
    if subsample:
        resamples = min(resamples, SUBSAMPLE_DRAWS)
    for draw in range(resamples):
        if should_stop is not None and should_stop():
            raise Stopped
        if subsample:
            picked = indexed.sample(n=max_rows, seed=seed + draw)
            votes, w = picked.select(spend), picked["__w"]
        else:
            rows = indexed.select("__row").sample(n=n, with_replacement=True, seed=seed + draw)
            counts = rows.group_by("__row").len()
            times = (
                indexed.select("__row")
                .join(counts, on="__row", how="left")
                .select(pl.col("len").fill_null(0).cast(pl.Float64))
                .to_series()
            )
            votes, w = shares, times * indexed["__w"]
        draws.append(aggregate(votes, total=1.0, method=method, weights=w))
    matrix = pl.DataFrame(draws, schema=spend, orient="row")
    if subsample:
        estimate = aggregate(shares, total=1.0, method=method, weights=kept)
        scale = math.sqrt(max_rows / (n - max_rows))
        low = [
            estimate[j] - (matrix[c].quantile(0.975, "linear") - estimate[j]) * scale
            for j, c in enumerate(spend)
        ]
        high = [
            estimate[j] - (matrix[c].quantile(0.025, "linear") - estimate[j]) * scale
            for j, c in enumerate(spend)
        ]
    else:
        low = [matrix[c].quantile(0.025, "linear") for c in spend]
        high = [matrix[c].quantile(0.975, "linear") for c in spend]
    bounds = pl.DataFrame(
        {
            "line_id": spend,
            "low": [max(0.0, v) * total for v in low],
            "high": [min(1.0, v) * total for v in high],
        },
        schema={"line_id": pl.String, "low": pl.Float64, "high": pl.Float64},
    )
    bounds = pl.concat([bounds, locked])
    how = "subsampling" if subsample else "bootstrap"
    return Interval(bounds, how, resamples, min(n, max_rows))


def _kept_weights(
    table: pl.DataFrame, lines: pl.DataFrame, weights: pl.Series | None
) -> pl.Series | None:
    """The weights of the residents `spending_shares` keeps (`whole_budget_rows`)."""
    if weights is None:
        return None
    return weights.filter(whole_budget_rows(table, lines))


def comments(
    table: pl.DataFrame, lines: pl.DataFrame, *, search: str = "", line: str = ""
) -> pl.DataFrame:
    """Every comment as a row (receipt, submitted_at, line_id, program, text), newest first,
    filtered by a line ("" overall, "*" all) and a case-insensitive search."""
    columns = [c for c in table.columns if c == "comment" or c.startswith("comment.")]
    if not columns:
        return pl.DataFrame(
            schema={
                "receipt": pl.String,
                "submitted_at": pl.Datetime,
                "line_id": pl.String,
                "program": pl.String,
                "text": pl.String,
            }
        )
    long = (
        table.select("receipt", "submitted_at", *columns)
        .unpivot(index=["receipt", "submitted_at"], variable_name="column", value_name="text")
        .drop_nulls("text")
        .with_columns(line_id=pl.col("column").str.strip_prefix("comment").str.strip_prefix("."))
        .drop("column")
    )
    names = lines.select(line_id="id", program=pl.format("{}: {}", "department", "program"))
    long = long.join(names, on="line_id", how="left").with_columns(
        pl.col("program").fill_null("Whole budget")
    )
    if line and line != "*":
        long = long.filter(pl.col("line_id") == ("" if line == "overall" else line))
    if search:
        long = long.filter(
            pl.col("text").str.to_lowercase().str.contains(search.lower(), literal=True)
        )
    return long.sort("submitted_at", descending=True).select(
        "receipt", "submitted_at", "line_id", "program", "text"
    )


def segment(table: pl.DataFrame, question_id: str, option: str) -> pl.DataFrame:
    """Only the submissions that gave this answer."""
    column = f"answer.{question_id}"
    if column not in table.columns:
        return table.clear()
    return table.filter(pl.col(column) == option)


def round_or_none(value: float | None) -> int | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value)
    )
