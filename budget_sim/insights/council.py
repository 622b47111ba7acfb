"""The report for council: the insight tables cut down to what a council meeting reads, each
figure with its n, its 95% interval and a sentence (Polars only; the web layer prints it).

The headline section is fed by `headline` alone: to change which method is the headline, change
`HEADLINE_METHOD` (or what `headline` is given)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import polars as pl

from budget_sim.insights.dashboard import Z95, _wilson, comments, kish_n_eff
from budget_sim.model import Budget

HEADLINE_METHOD = "independent_markets"  # one of insights.METHODS; the dashboard's headline
HEADLINE_NAMES = {
    "independent_markets": "Independent Markets",
    "utilitarian": "Majority view",
    "mean": "Mean",
    "median": "Median (rescaled)",
}
COMMENTS_SHOWN = 12
COMMENT_MIN_CHARS = 20
TOP = 5  # lines shown per list of agreements and disagreements


@dataclass(frozen=True)
class Headline:
    """The headline: per spending line, city and headline amounts (cents) with 95% bounds."""

    method: str
    rows: pl.DataFrame  # line_id, department, program, city, amount, low, high, change
    n: int
    note: str  # how the intervals were made ("" while they are not ready)
    sentence: str


def headline(
    whole: pl.DataFrame | None,
    bounds: pl.DataFrame | None,
    n: int,
    *,
    method: str = HEADLINE_METHOD,
    note: str = "",
) -> Headline | None:
    """The headline under `method` from the whole-budget table and its interval bounds
    (line_id, low, high; None when not computed). None without submissions."""
    if whole is None or method not in whole.columns:
        return None
    rows = whole.select(
        "line_id", "department", "program", "city", amount=pl.col(method).fill_nan(None)
    )
    if bounds is not None:
        rows = rows.join(bounds.select("line_id", "low", "high"), on="line_id", how="left")
    else:
        rows = rows.with_columns(low=pl.lit(None, pl.Float64), high=pl.lit(None, pl.Float64))
    rows = rows.with_columns(change=pl.col("amount") - pl.col("city"))
    beyond = rows.filter((pl.col("city") < pl.col("low")) | (pl.col("city") > pl.col("high")))
    up = beyond.filter(pl.col("change") > 0).height
    down = beyond.filter(pl.col("change") < 0).height
    name = HEADLINE_NAMES.get(method, method)
    if bounds is None:
        clear = (
            "Its 95% intervals were still being computed when this report was made: make it "
            "again in a minute to have them."
        )
    else:
        clear = (
            f"For {up} program{'s' if up != 1 else ''} residents' budget is above the city's "
            f"beyond the 95% interval, for {down} below it; for the other {rows.height - up - down}"
            " the city's amount lies inside the interval, so the difference may be chance."
        )
    sentence = (
        f"{name}, from {n:,} submissions, over {rows.height} spending programs, scaled to the "
        f"city's total spending. {clear}"
    )
    return Headline(method, rows, n, note, sentence)


def departments(
    table: pl.DataFrame, lines: pl.DataFrame, weights: pl.Series | None = None
) -> pl.DataFrame:
    """Per department of spending: the city's total and residents' average total with its 95%
    interval (CLT, Kish n_eff when weighted), the shares raising and cutting it (Wilson), n
    (residents who were shown every line of it), and a sentence. Cents; shares in [0, 1]."""
    spend = lines.filter(pl.col("kind") == "expense")
    rows = []
    w = weights if weights is not None else pl.Series("w", [1.0] * table.height)
    for (department,), group in spend.group_by("department", maintain_order=True):
        ids = [i for i in group["id"].to_list() if i in table.columns]
        city = int(group["amount"].sum())
        if not ids or table.is_empty():
            continue
        total = table.select(
            pl.sum_horizontal(pl.col(ids)).alias("t"),
            pl.any_horizontal(pl.col(ids).is_null()).alias("missing"),
        ).with_columns(w=w)
        seen = total.filter(~pl.col("missing"))
        n = seen.height
        if n == 0:
            continue
        x, weight = seen["t"].cast(pl.Float64), seen["w"]
        mean = float((x * weight).sum() / weight.sum())
        n_eff = kish_n_eff(weight) if weights is not None else float(n)
        var = float(((x - mean) ** 2 * weight).sum() / weight.sum()) * n / max(n - 1, 1)
        half = Z95 * (var / max(n_eff, 1.0)) ** 0.5
        raised = float((weight * (x > city)).sum() / weight.sum())
        cut = float((weight * (x < city)).sum() / weight.sum())
        rows.append(
            {
                "department": department,
                "city": city,
                "mean": mean,
                "low": mean - half,
                "high": mean + half,
                "raised": raised,
                "cut": cut,
                "n": n,
                "n_eff": n_eff,
            }
        )
    schema = {
        "department": pl.String,
        "city": pl.Int64,
        "mean": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "raised": pl.Float64,
        "cut": pl.Float64,
        "n": pl.Int64,
        "n_eff": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema)
    if frame.is_empty():
        return frame.with_columns(
            change=pl.lit(None, pl.Float64),
            raised_low=pl.lit(None, pl.Float64),
            raised_high=pl.lit(None, pl.Float64),
            cut_low=pl.lit(None, pl.Float64),
            cut_high=pl.lit(None, pl.Float64),
        )
    n = pl.col("n_eff").clip(lower_bound=1.0)
    raised_low, raised_high = _wilson(pl.col("raised"), n)
    cut_low, cut_high = _wilson(pl.col("cut"), n)
    return frame.with_columns(
        change=pl.col("mean") - pl.col("city"),
        raised_low=raised_low.clip(0, 1),
        raised_high=raised_high.clip(0, 1),
        cut_low=cut_low.clip(0, 1),
        cut_high=cut_high.clip(0, 1),
    )


def agreements(lines: pl.DataFrame, top: int = TOP) -> dict[str, pl.DataFrame]:
    """From the line table: the unlocked lines most residents agree to raise ("raise") or to
    cut ("cut"), by net support (share raising minus share cutting), and the most divided
    ("divided": many raise and many cut; ordered by the smaller of the two shares)."""
    usable = lines.filter(~pl.col("locked") & pl.col("net_support").is_not_null()).filter(
        pl.col("net_support").is_not_nan()
    )
    columns = [
        "line_id",
        "department",
        "program",
        "submissions",
        "raised",
        "raised_low",
        "raised_high",
        "cut",
        "cut_low",
        "cut_high",
        "net_support",
    ]
    usable = usable.select(c for c in columns if c in usable.columns)
    return {
        "raise": usable.filter(pl.col("net_support") > 0)
        .sort("net_support", descending=True)
        .head(top),
        "cut": usable.filter(pl.col("net_support") < 0).sort("net_support").head(top),
        "divided": usable.with_columns(divided=pl.min_horizontal("raised", "cut"))
        .sort("divided", descending=True)
        .head(top),
    }


def comment_selection(
    table: pl.DataFrame, lines: pl.DataFrame, *, seed: str, shown: int = COMMENTS_SHOWN
) -> tuple[pl.DataFrame, str]:
    """A fair handful of comments and how they were chosen: at random (seeded, so the same
    submissions give the same choice), at most one per program and one on the whole budget,
    among comments of at least COMMENT_MIN_CHARS characters; never chosen by content."""
    every = comments(table, lines)
    long_enough = every.filter(
        pl.col("text").str.strip_chars().str.len_chars() >= COMMENT_MIN_CHARS
    )
    rng = random.Random(seed)
    picked = []
    groups = sorted(long_enough.partition_by("line_id", as_dict=True).items(), key=lambda kv: kv[0])
    rng.shuffle(groups)
    for _, group in groups[:shown]:
        picked.append(group.row(rng.randrange(group.height), named=True))
    frame = pl.DataFrame(picked, schema=every.schema) if picked else every.clear()
    how = (
        f"{frame.height} of {every.height:,} comments, picked at random (the same submissions "
        f"always give the same picks): at most one per program and one on the whole budget, "
        f"from {len(groups)} program{'s' if len(groups) != 1 else ''} with comments, among "
        f"comments of at least {COMMENT_MIN_CHARS} characters. They were not chosen for what "
        "they say, and are shown as written."
    )
    return frame.sort("program"), how


def participation_sentence(budget: Budget, n: int) -> str:
    """Submissions against the population and households the budget gives (with sources)."""
    parts = [f"{n:,} submissions were counted."]
    if budget.population:
        parts.append(
            f"That is {n / budget.population * 1000:,.1f} per 1,000 residents "
            f"(population {budget.population:,})."
        )
    if budget.households:
        parts.append(
            f"If each came from a different household, {n / budget.households:.1%} of the "
            f"city's {budget.households:,} households took part; a household may submit more "
            "than once, so this is an upper bound."
        )
    if not budget.population and not budget.households:
        parts.append("The budget gives no population figure, so the rate cannot be shown.")
    return " ".join(parts)
