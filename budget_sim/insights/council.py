"""The report for council: the dashboard's figures cut down to what a council meeting reads,
each with its n, its 95% interval and a sentence (Polars only; the web layer prints it).

The headline is the dashboard's (`headline.HeadlineFigures`, with its intervals and truthful
neighbour); departments and agreements compare each resident with the amounts they were shown
(a revision may have changed them); a list of agreements or group differences names only what
remains after the Benjamini-Hochberg false discovery rate control, and says how many tests it
counted."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import polars as pl

from budget_sim.insights import segments
from budget_sim.insights.dashboard import (
    Z95,
    Shown,
    _wilson,
    baseline,
    comments,
    kish_n_eff,
    movable_spending,
    spending_shares,
    whole_budget_rows,
)
from budget_sim.insights.discoveries import FDR, Family, adjust, normal_two_sided
from budget_sim.insights.headline import HeadlineFigures
from budget_sim.model import Budget, Question

COMMENTS_SHOWN = 10
COMMENT_MIN_CHARS = 20
TOP = 5  # lines shown per list of agreements and disagreements
MOVED_SHOWN = 15  # programs of the headline shown in the body (the appendix has them all)
SPLITS_SHOWN = 3  # clear group differences shown per question


def line_name(department: str, program: str) -> str:
    """ "Department: Program", or the program alone when it is named like its department."""
    return program if program == department else f"{department}: {program}"


NAME = (
    pl.when(pl.col("program") == pl.col("department"))
    .then(pl.col("program"))
    .otherwise(pl.format("{}: {}", "department", "program"))
)  # line_name as an expression


def moved(figures: HeadlineFigures, top: int = MOVED_SHOWN) -> pl.DataFrame:
    """The headline's programs that move most from the city's amount (locked lines left out),
    largest rise first: name, city, headline, low, high, truthful, truthful_low/high, change."""
    return (
        figures.rows.filter(~pl.col("locked") & pl.col("headline").is_not_null())
        .with_columns(
            name=NAME,
            change=pl.col("headline") - pl.col("city"),
        )
        .sort(pl.col("change").abs(), descending=True)
        .head(top)
        .sort("change", descending=True)
    )


def headline_sentence(figures: HeadlineFigures) -> str:
    """The headline in a sentence: method, n, how many programs move beyond their interval."""
    up, down, free = figures.moved()
    return (
        f"{figures.label}, from {figures.submissions:,} submissions, over the {free} programs "
        f"residents could move: {up} {'is' if up == 1 else 'are'} above the city's amount and "
        f"{down} below it by more than the 95% interval; the others are within sampling noise. "
        "About 1 program in 20 falls outside its interval by chance alone."
    )


def neighbour_sentence(figures: HeadlineFigures) -> str:
    """The truthful neighbour beside the headline, and where the two disagree."""
    free = figures.rows.filter(~pl.col("locked") & pl.col("truthful_low").is_not_null())
    up = free.filter(pl.col("truthful_low") > pl.col("city")).height
    down = free.filter(pl.col("truthful_high") < pl.col("city")).height
    apart = figures.counts.get(figures.truthful, 0)
    what = "a truthful rule (nobody gains by exaggerating)" if figures.neighbour_is_truthful else ""
    return (
        f"Beside it, the {figures.truthful_label}{', ' + what if what else ''}: {up} "
        f"program{'s' if up != 1 else ''} above the city's amount and {down} below it beyond "
        f"its 95% interval. The two differ by more than their intervals on {apart} program"
        f"{'s' if apart != 1 else ''}"
        + (": there the choice of method, not chance, decides the figure." if apart else ".")
    )


def departments(
    table: pl.DataFrame,
    lines: pl.DataFrame,
    weights: pl.Series | None = None,
    shown: Shown | None = None,
) -> pl.DataFrame:
    """Per department of spending, over the submissions the whole-budget figures count
    (`whole_budget_rows`, n): the city's total now; `change`, how residents would change it
    on average when each resident's split of the spending they could move is scaled to the
    city's total (as the headline "average of residents' plans" is: with that headline, a
    department's figure is the sum of its programs'), with its 95% interval (normal, Kish
    n_eff when weighted); and the shares raising and cutting its total against the total each
    resident was shown (`shown`: an earlier revision's amounts), with Wilson intervals.
    `revised`: a revision changed some of its amounts; `locked`: residents could move none of
    its lines. Cents; shares 0-1."""
    schema = {
        "department": pl.String,
        "city": pl.Int64,
        "change": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "raised": pl.Float64,
        "cut": pl.Float64,
        "n": pl.Int64,
        "n_eff": pl.Float64,
        "revised": pl.Boolean,
        "locked": pl.Boolean,
    }
    keep = whole_budget_rows(table, lines) if table.height else pl.Series([], dtype=pl.Boolean)
    shares, movable = spending_shares(table, lines) if table.height else (pl.DataFrame(), [])
    counted = table.filter(keep)
    w = weights.cast(pl.Float64).filter(keep) if weights is not None else None
    n = counted.height
    total = float(movable_spending(lines)["amount"].sum())
    rows = []
    spend = lines.filter(pl.col("kind") == "expense")
    for (department,), group in spend.group_by("department", maintain_order=True):
        pairs = [(k, a) for k, a in group.select("id", "amount").iter_rows() if k in table.columns]
        if not pairs or n == 0:
            continue
        city = int(group["amount"].sum())
        ids = [k for k, _ in pairs if k in movable]
        fixed = city - int(group.filter(pl.col("id").is_in(ids))["amount"].sum())
        split = shares.select(pl.sum_horizontal(ids) * total + fixed) if ids else None
        value = split.to_series() if split is not None else pl.Series([float(city)] * n)
        bases = [baseline(counted, k, a, shown) for k, a in pairs]
        own = counted.select(
            pl.sum_horizontal(
                pl.col(k).cast(pl.Float64) - b for (k, _), b in zip(pairs, bases, strict=True)
            )
        ).to_series()
        ws = w if w is not None else pl.Series([1.0] * n)
        weight = float(ws.sum())
        mean = float((value * ws).sum()) / weight
        n_eff = kish_n_eff(ws) if w is not None else float(n)
        var = float(((value - mean) ** 2 * ws).sum()) / weight * n / max(n - 1, 1)
        half = Z95 * math.sqrt(var / max(n_eff, 1.0))
        rows.append(
            {
                "department": department,
                "city": city,
                "change": mean - city,
                "low": mean - half - city,
                "high": mean + half - city,
                "raised": float((ws * (own > 0)).sum()) / weight,
                "cut": float((ws * (own < 0)).sum()) / weight,
                "n": n,
                "n_eff": n_eff,
                "revised": any(not isinstance(b, int) for b in bases),
                "locked": not ids,
            }
        )
    found = pl.DataFrame(rows, schema=schema)
    n_eff = pl.col("n_eff").clip(lower_bound=1.0)
    raised_low, raised_high = _wilson(pl.col("raised"), n_eff)
    cut_low, cut_high = _wilson(pl.col("cut"), n_eff)
    return found.with_columns(
        raised_low=raised_low.clip(0, 1),
        raised_high=raised_high.clip(0, 1),
        cut_low=cut_low.clip(0, 1),
        cut_high=cut_high.clip(0, 1),
    )


@dataclass(frozen=True)
class Agreements:
    """Programs most residents agree to raise or to cut (clear after the FDR control), the
    most divided (many raise and many cut: descriptive), and the family of tests."""

    raise_: pl.DataFrame
    cut: pl.DataFrame
    divided: pl.DataFrame
    family: Family


def agreements(lines: pl.DataFrame, *, design_effect: float = 1.0, top: int = TOP) -> Agreements:
    """From the line table (each resident against what they were shown; n = who saw the line):
    per unlocked line, net support (share raising minus share cutting) with its 95% margin and
    a test of "residents are as many to raise as to cut" (normal approximation on the score
    +1/0/-1, n divided by the weighting's design effect); the lines are one family under the
    Benjamini-Hochberg control. Only lines with a q-value of at most 5% are listed as agreed."""
    usable = lines.filter(
        ~pl.col("locked") & pl.col("net_support").is_not_null() & (pl.col("submissions") >= 2)
    ).filter(pl.col("net_support").is_not_nan())
    n = pl.col("submissions") / max(design_effect, 1.0)
    spread = (pl.col("raised") + pl.col("cut") - pl.col("net_support") ** 2).clip(lower_bound=0)
    margin = Z95 * (spread / n).sqrt()
    usable = usable.with_columns(
        name=NAME,
        net_low=pl.col("net_support") - margin,
        net_high=pl.col("net_support") + margin,
        z=pl.col("net_support") / (spread / n).sqrt(),
    )
    p_values = [  # 0/0 (nobody moved it): no evidence either way
        1.0 if z is None or math.isnan(z) else normal_two_sided(z) for z in usable.get_column("z")
    ]
    q_values = adjust(p_values)
    usable = usable.with_columns(
        p_value=pl.Series(p_values, dtype=pl.Float64),
        q_value=pl.Series(q_values, dtype=pl.Float64),
    )
    clear = usable.filter(pl.col("q_value") <= FDR)
    family = Family.of(usable["q_value"], "programs' net support")
    return Agreements(
        raise_=clear.filter(pl.col("net_support") > 0)
        .sort("net_support", descending=True)
        .head(top),
        cut=clear.filter(pl.col("net_support") < 0).sort("net_support").head(top),
        divided=usable.with_columns(divided=pl.min_horizontal("raised", "cut"))
        .filter(pl.col("divided") >= 0.2)
        .sort("divided", descending=True)
        .head(top),
        family=family,
    )


@dataclass(frozen=True)
class Differences:
    """For one question, the lines where its answers clearly differ (after the FDR control)."""

    question: Question
    family: Family
    rows: list[dict]  # name, gap, highest/lowest (label, net, margin, n), q_value


def group_differences(
    table: pl.DataFrame,
    budget: Budget,
    weights: pl.Series | None = None,
    shown: Shown | None = None,
    *,
    top: int = SPLITS_SHOWN,
) -> list[Differences]:
    """Per question, its segment comparison (`segments.compare`, each resident against what
    they were shown) and the `top` widest gaps the Benjamini-Hochberg control keeps."""
    found = []
    for question in budget.questions:
        compared = segments.compare(table, budget.lines, question, weights, shown)
        tested = segments.splits(compared)
        cells = {
            (row["line_id"], row["label"]): row
            for row in compared.filter(pl.col("option").is_not_null()).iter_rows(named=True)
        }
        rows = []
        for split in tested.filter("clear").head(top).iter_rows(named=True):
            high = cells[(split["line_id"], split["highest"])]
            low = cells[(split["line_id"], split["lowest"])]
            rows.append(
                {
                    "name": line_name(high["department"], high["program"]),
                    "gap": split["gap"],
                    "q_value": split["q_value"],
                    "highest": _cell(high),
                    "lowest": _cell(low),
                }
            )
        found.append(Differences(question, segments.family(tested), rows))
    return found


def _cell(row: dict) -> dict:
    return {
        "label": row["label"],
        "net": row["net_support"],
        "margin": row["net_support_margin95"],
        "n": row["seen"],
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


def answer_shares(table: pl.DataFrame, question: Question) -> list[tuple[str, int, float]]:
    """Per answer of a question (in its order): label, submissions, share of those answering."""
    column = f"answer.{question.id}"
    if column not in table.columns:
        return []
    counts = dict(table.get_column(column).drop_nulls().cast(pl.String).value_counts().rows())
    answered = sum(counts.values())
    return [
        (o.label, counts.get(o.id, 0), counts.get(o.id, 0) / answered if answered else 0.0)
        for o in question.options
    ]
