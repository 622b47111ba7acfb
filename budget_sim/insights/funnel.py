"""The participation funnel: how many residents opened a budget, changed it, got it within the
rules, were refused at submit, and submitted; per day, per answer to each question, the median
time to complete with its interval, and the lines changed last by those who left.

A resident is a ballot (one page load's signed token), so a resident who reloads the page counts
twice. Each step counts the ballots that got at least that far (a submission is within the rules,
so a resident who submits the city's plan unchanged counts at every step; how many did so is
stated). Input: the events of one budget (storage/funnel.py SCHEMA)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from statistics import NormalDist

import polars as pl

from budget_sim.model import Budget

STEPS = (
    ("opened", "Opened the page"),
    ("changed", "Changed at least one line"),
    ("within", "Had a budget within the rules"),
    ("submitted", "Submitted"),
)
NO_ANSWER = "No answer given"
Z95 = NormalDist().inv_cdf(0.975)
TOP_LINES = 10


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of the share k/n (None when n is 0)."""
    if n <= 0:
        return None
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def median_interval(values: list[float]) -> tuple[float, float] | None:
    """A distribution-free 95% interval of the median: order statistics whose ranks come from
    the Binomial(n, 1/2) distribution (exact up to 1,000 values, its normal approximation
    above). None below 6 values, where no such interval reaches 95%."""
    n = len(values)
    if n < 6:
        return None
    ordered = sorted(values)
    if n <= 1000:
        total, cumulative, j = 2**n, 0, 0
        while (cumulative + math.comb(n, j)) * 40 <= total:  # P(X <= j) <= 2.5%
            cumulative += math.comb(n, j)
            j += 1
        low_rank = max(j, 1)  # 1-based rank of the lower bound
    else:
        low_rank = max(1, math.floor(n / 2 - Z95 * math.sqrt(n) / 2))
    return ordered[low_rank - 1], ordered[n - low_rank]


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    n: int
    share: float | None  # of the step before (None for the first)
    interval: tuple[float, float] | None
    sentence: str


@dataclass(frozen=True)
class Segment:
    """The funnel of the residents who gave one answer to a question."""

    label: str
    counts: tuple[int, ...]  # per step
    completion: float | None  # submitted / opened
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class QuestionFunnel:
    question_id: str
    label: str
    segments: tuple[Segment, ...]
    sentence: str


@dataclass(frozen=True)
class LastLine:
    line_id: str
    name: str
    n: int
    share: float  # of the residents who changed something and left


@dataclass(frozen=True)
class Funnel:
    """Every figure of the participation page, each with a plain sentence."""

    steps: tuple[Step, ...]
    refused: int  # ballots refused at submit at least once
    refused_then_submitted: int
    submitted_unchanged: int  # submitted without a recalculation
    refused_sentence: str
    per_day: pl.DataFrame  # day, opened, changed, within, submitted, refused, completion
    per_day_sentence: str
    questions: tuple[QuestionFunnel, ...]
    median_seconds: float | None
    median_interval: tuple[float, float] | None
    median_n: int
    median_sentence: str
    last_lines: tuple[LastLine, ...]
    left_after_change: int
    last_lines_sentence: str
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """The figures as plain data (for the council report and the JSON API)."""
        return {
            "steps": [
                {
                    "step": s.key,
                    "label": s.label,
                    "n": s.n,
                    "share_of_previous": s.share,
                    "interval": s.interval,
                    "sentence": s.sentence,
                }
                for s in self.steps
            ],
            "refused": self.refused,
            "refused_then_submitted": self.refused_then_submitted,
            "submitted_unchanged": self.submitted_unchanged,
            "per_day": self.per_day.with_columns(pl.col("day").cast(pl.String)).to_dicts(),
            "median_seconds_to_submit": self.median_seconds,
            "median_interval": self.median_interval,
            "median_n": self.median_n,
            "last_lines": [vars(line) for line in self.last_lines],
            "left_after_change": self.left_after_change,
            "sentences": [s.sentence for s in self.steps]
            + [self.refused_sentence, self.median_sentence, self.last_lines_sentence],
        }


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def _interval_text(interval: tuple[float, float] | None) -> str:
    if interval is None:
        return ""
    return f" (95% interval {interval[0] * 100:.1f}% to {interval[1] * 100:.1f}%)"


def per_ballot(events: pl.DataFrame) -> pl.DataFrame:
    """One row per ballot: when it started, how far it got (stage 1 to 4), whether it was
    refused, when it submitted, its last answers and the last line it changed."""
    kind, change = pl.col("kind"), pl.col("kind") == "change"
    return (
        events.group_by("ballot", maintain_order=True)
        .agg(
            first_at=pl.col("at").min(),
            opened=(kind == "opened").any(),
            changed=change.any(),
            within=(change & pl.col("within")).any(),
            refused=(kind == "refused").any(),
            submitted_at=pl.col("at").filter(kind == "submitted").min(),
            answers=pl.col("answers").filter(pl.col("answers") != "{}").last(),
            last_line=pl.col("line_id").filter(change & pl.col("line_id").is_not_null()).last(),
        )
        .with_columns(
            stage=pl.when(pl.col("submitted_at").is_not_null())
            .then(4)
            .when(pl.col("within"))
            .then(3)
            .when(pl.col("changed"))
            .then(2)
            .otherwise(1),
            day=pl.col("first_at").dt.date(),
        )
    )


def _steps(stages: list[int]) -> tuple[Step, ...]:
    counts = [sum(1 for s in stages if s >= k) for k in range(1, len(STEPS) + 1)]
    steps, previous = [], None
    for (key, label), n in zip(STEPS, counts, strict=True):
        if previous is None:
            sentence = f"{n:,} pages were opened: each page load is counted once, as one resident."
            steps.append(Step(key, label, n, None, None, sentence))
        else:
            share = n / previous if previous else None
            interval = wilson(n, previous)
            sentence = (
                f"{n:,} of the {previous:,} who got to the step before went on: "
                f"{label.lower()} ({_pct(share)}{_interval_text(interval)})."
            )
            steps.append(Step(key, label, n, share, interval, sentence))
        previous = n
    return tuple(steps)


def _questions(ballots: pl.DataFrame, budget: Budget) -> tuple[QuestionFunnel, ...]:
    answers = [json.loads(a) if a else {} for a in ballots["answers"].to_list()]
    stages = ballots["stage"].to_list()
    found = []
    for question in budget.questions:
        labels = {option.id: option.label for option in question.options}
        groups: dict[str, list[int]] = {option.id: [] for option in question.options}
        groups[""] = []
        for given, stage in zip(answers, stages, strict=True):
            option = given.get(question.id, "")
            groups[option if option in labels else ""].append(stage)
        segments = []
        for option, members in groups.items():
            counts = tuple(sum(1 for s in members if s >= k) for k in range(1, len(STEPS) + 1))
            opened, done = counts[0], counts[-1]
            segments.append(
                Segment(
                    labels.get(option, NO_ANSWER),
                    counts,
                    done / opened if opened else None,
                    wilson(done, opened),
                )
            )
        answered = [s for s in segments[:-1] if s.counts[0]]
        best = max(answered, key=lambda s: s.completion or 0.0, default=None)
        worst = min(answered, key=lambda s: s.completion or 0.0, default=None)
        sentence = (
            f"By {question.label.lower()}: residents count under the answer they gave (those who "
            "never answered, often because they left before the question, under "
            f'"{NO_ANSWER}").'
        )
        if best is not None and worst is not None and best is not worst:
            sentence += (
                f" {best.label} completed most often ({_pct(best.completion)} of "
                f"{best.counts[0]:,}), {worst.label} least ({_pct(worst.completion)} of "
                f"{worst.counts[0]:,}); where the intervals overlap the difference may be chance."
            )
        found.append(QuestionFunnel(question.id, question.label, tuple(segments), sentence))
    return tuple(found)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _median(ballots: pl.DataFrame) -> tuple[float | None, tuple[float, float] | None, int, str]:
    done = ballots.filter(pl.col("opened") & pl.col("submitted_at").is_not_null())
    seconds = ((done["submitted_at"] - done["first_at"]).dt.total_microseconds() / 1e6).to_list()
    n = len(seconds)
    if not n:
        return None, None, 0, "No resident has submitted yet from a page opened in this period."
    ordered = sorted(seconds)
    median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    interval = median_interval(seconds)
    sentence = (
        f"Half of the {n:,} residents who submitted took less than {_duration(median)} from "
        "opening the page to submitting"
    )
    sentence += (
        f" (95% interval {_duration(interval[0])} to {_duration(interval[1])})."
        if interval
        else " (too few to give an interval)."
    )
    return median, interval, n, sentence


def _last_lines(ballots: pl.DataFrame, budget: Budget) -> tuple[tuple[LastLine, ...], int, str]:
    left = ballots.filter(pl.col("submitted_at").is_null() & pl.col("changed"))
    known = left.filter(pl.col("last_line").is_not_null())
    counts = known.group_by("last_line").len().sort(["len", "last_line"], descending=[True, False])
    names = {
        row["id"]: row["program"]
        if row["program"] == row["department"]
        else f"{row['department']}: {row['program']}"
        for row in budget.lines.select("id", "department", "program").iter_rows(named=True)
    }
    total = left.height
    lines = tuple(
        LastLine(line_id, names.get(line_id, line_id), n, n / total)
        for line_id, n in counts.head(TOP_LINES).iter_rows()
    )
    if not total:
        return lines, 0, "No resident who changed a line has left without submitting."
    sentence = (
        f"{total:,} residents changed something and left without submitting; the lines they "
        "changed last are below (a line that many left on may be hard to understand or to "
        "balance, or simply the last one they wanted to see)."
    )
    if unknown := total - known.height:
        sentence += (
            f" For {unknown:,} of them the page cannot tell which line came last (they used "
            "the page without JavaScript)."
        )
    return lines, total, sentence


def summarize(events: pl.DataFrame, budget: Budget) -> Funnel:
    """The funnel of a budget from its events (storage/funnel.py load_events)."""
    ballots = per_ballot(events)
    stages = ballots["stage"].to_list()
    steps = _steps(stages)
    refused = int(ballots["refused"].sum())
    then = int(ballots.filter(pl.col("refused") & pl.col("submitted_at").is_not_null()).height)
    unchanged = int(
        ballots.filter(pl.col("submitted_at").is_not_null() & ~pl.col("changed")).height
    )
    share = f" ({_pct(then / refused)}{_interval_text(wilson(then, refused))})" if refused else ""
    refused_sentence = (
        f"{refused:,} residents were refused at least once when they submitted (their budget "
        f"broke a rule or a field could not be read); {then:,} of them then submitted{share}."
        f" {unchanged:,} submitted without changing anything on the page (they count at every "
        "step)."
    )
    per_day = (
        ballots.group_by("day")
        .agg(
            opened=pl.len(),
            changed=(pl.col("stage") >= 2).sum(),
            within=(pl.col("stage") >= 3).sum(),
            submitted=(pl.col("stage") >= 4).sum(),
            refused=pl.col("refused").sum(),
        )
        .sort("day")
        .with_columns(completion=pl.col("submitted") / pl.col("opened"))
    )
    per_day_sentence = (
        "Each day counts the pages opened that day (UTC) and how far they got, whenever they "
        "finished; the last day's figures still grow while its residents are on the page."
    )
    median, interval, median_n, median_sentence = _median(ballots)
    lines, left, lines_sentence = _last_lines(ballots, budget)
    return Funnel(
        steps=steps,
        refused=refused,
        refused_then_submitted=then,
        submitted_unchanged=unchanged,
        refused_sentence=refused_sentence,
        per_day=per_day,
        per_day_sentence=per_day_sentence,
        questions=_questions(ballots, budget),
        median_seconds=median,
        median_interval=interval,
        median_n=median_n,
        median_sentence=median_sentence,
        last_lines=lines,
        left_after_change=left,
        last_lines_sentence=lines_sentence,
    )
