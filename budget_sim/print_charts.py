"""Charts for the printed council report: full width, values written on the bars, 95% intervals
as whiskers, and names wrapped onto several lines rather than cut (vl-convert renders them to
SVG; budget_sim.charts makes the SVG safe and gives it a title)."""

from __future__ import annotations

import textwrap

import altair as alt
import polars as pl

from budget_sim.charts import BLUE, INK, VERMILLION, Chart, render
from budget_sim.money import format_compact

WIDTH = 640  # px: an A4 or Letter page's text width at 96 px per inch, less a little
LABEL_CHARS = 32  # characters per line of a wrapped name (LABEL_WIDTH px at 12 px)
LABEL_WIDTH = 230  # px for the names, right-aligned
LINE_HEIGHT = 14  # px per line of a name at 12 px
MIN_LINE = 11  # px per line of a name when many rows must fit (10 px text)
MAX_HEIGHT = 760  # px of bars: with its title and axis, a chart fits a page of text
PAD = {"type": "pad"}  # concatenated charts: their own widths (fit-x does not apply)
MOST = 20  # programs shown in the headline chart (the table has them all)


def wrap(name: str, width: int = LABEL_CHARS) -> list[str]:
    """A name on as many lines as it needs (never cut)."""
    return textwrap.wrap(name, width, break_long_words=True) or [""]


def _money(cents: float, symbol: str) -> str:
    sign = "+" if cents > 0.5 else ""
    return sign + format_compact(round(cents), symbol)


def change_bars(
    rows: pl.DataFrame, chart_id: str, title: str, summary: str, symbol: str, axis: str
) -> Chart:
    """Bars of `change` (cents) per `name`, with `low`/`high` whiskers (cents, may be null)
    and each bar's value written beside it; names wrapped onto several lines. Rows are spaced
    so that the chart fits on a page (MAX_HEIGHT) however many there are; the axis spans
    only the side(s) the bars reach, with room for the values."""
    data = [
        {
            "key": str(i),
            "name": wrap(row["name"]),
            "change": row["change"] / 100,
            "low": None if row["low"] is None else row["low"] / 100,
            "high": None if row["high"] is None else row["high"] / 100,
            "value": _money(row["change"], symbol),
            "at": _beyond(row) / 100,
        }
        for i, row in enumerate(rows.iter_rows(named=True))
    ]
    tallest = max((len(d["name"]) for d in data), default=1)
    per_line = max(MIN_LINE, min(LINE_HEIGHT, (MAX_HEIGHT / max(len(data), 1) - 6) / tallest))
    step = max(MIN_LINE + 4, round(per_line * tallest + 6))
    font = 12 if per_line >= LINE_HEIGHT else 10
    ends = [v for d in data for v in (d["change"], d["low"], d["high"]) if v is not None]
    low, high = min([0.0, *ends]), max([0.0, *ends])
    extent = (high - low) or 1.0
    domain = [  # room for the values written beside the bars (a quarter of the width)
        low - (extent * 0.3 if low < 0 else 0.0),
        high + (extent * 0.3 if high > 0 else 0.0),
    ]
    base = alt.Chart(alt.Data(values=data)).encode(
        y=alt.Y(
            "key:N",
            sort=None,
            title=None,
            scale=alt.Scale(paddingInner=0.25),
            axis=alt.Axis(labels=False, ticks=False, domain=False),
        )
    )
    x = alt.X(
        "change:Q",
        title=axis,
        scale=alt.Scale(domain=domain, nice=False),
        axis=alt.Axis(labelExpr=_axis_expr(symbol), tickCount=5),
    )
    bars = base.mark_bar().encode(
        x=x, color=alt.condition("datum.change >= 0", alt.value(BLUE), alt.value(VERMILLION))
    )
    whiskers = base.mark_rule(color=INK, strokeWidth=1.5).encode(x="low:Q", x2="high:Q")
    text = {"fontSize": font, "color": INK}
    right = base.transform_filter("datum.change >= 0").mark_text(align="left", dx=4, **text)
    left = base.transform_filter("datum.change < 0").mark_text(align="right", dx=-4, **text)
    values = right.encode(x="at:Q", text="value:N") + left.encode(x="at:Q", text="value:N")
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color=INK).encode(x="zero:Q")
    plot = (bars + whiskers + values + zero).properties(
        width=WIDTH - LABEL_WIDTH - 10, height={"step": step}
    )
    labels = (
        base.mark_text(
            align="right", baseline="middle", fontSize=font, color=INK, lineHeight=per_line
        )
        .encode(text="name:N", x=alt.value(LABEL_WIDTH))
        .properties(width=LABEL_WIDTH, height={"step": step})
    )
    chart = alt.hconcat(labels, plot, spacing=6).resolve_scale(y="shared").properties(autosize=PAD)
    return render(chart, chart_id, title, summary)


def _beyond(row: dict) -> float:
    """Where a bar's value is written: past the bar and past its whisker."""
    ends = [row["change"]] + [v for v in (row["low"], row["high"]) if v is not None]
    return min(ends) if row["change"] < 0 else max(ends)


def _axis_expr(symbol: str) -> str:
    return (
        "(datum.value < 0 ? '−' : '') + '" + symbol.replace("'", "") + "' + "
        "replace(format(abs(datum.value), '~s'), 'G', 'B')"
    )


def share_bars(rows: pl.DataFrame, chart_id: str, title: str, summary: str) -> Chart:
    """Horizontal bars of shares per `name` and `measure` (value `share` in [0, 1]), a row
    each, the name written once beside its first row, each bar labelled with its percentage."""
    measures = list(dict.fromkeys(rows["measure"].to_list()))
    data = []
    for i, row in enumerate(rows.sort("name", maintain_order=True).iter_rows(named=True)):
        first = row["measure"] == measures[0]
        data.append(
            {
                "key": f"{row['name']}\t{row['measure']}\t{i}",
                "name": wrap(row["name"], 28) if first else [""],
                "measure": row["measure"],
                "share": row["share"],
                "value": f"{row['share']:.1%}",
            }
        )
    colour = alt.Color(
        "measure:N",
        scale=alt.Scale(domain=measures, range=[BLUE, VERMILLION][: len(measures)]),
        legend=alt.Legend(orient="top", title=None) if len(measures) > 1 else None,
    )
    top = max((d["share"] for d in data), default=0.01)
    y = alt.Y("key:N", sort=None, title=None, axis=None)
    base = alt.Chart(alt.Data(values=data)).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X(
            "share:Q",
            title="Share",
            scale=alt.Scale(domain=[0, top * 1.25], nice=False),
            axis=alt.Axis(format=".0%", tickCount=5),
        ),
        color=colour,
    )
    values = base.mark_text(align="left", dx=3, fontSize=10, color=INK).encode(
        x="share:Q", text="value:N"
    )
    tallest = max((len(d["name"]) for d in data), default=1)
    pair = len(measures) > 1  # a name beside its first row, over the pair of rows
    step = max(15, 7 * tallest) if pair else max(20, 13 * tallest + 4)  # 13 answers: 1/3 page
    plot = (bars + values).properties(width=WIDTH - 210, height={"step": step})
    labels = (
        base.mark_text(
            align="right",
            baseline="top" if pair else "middle",
            fontSize=12,
            color=INK,
            lineHeight=13,
        )
        .encode(text="name:N", x=alt.value(200))
        .properties(width=200, height={"step": step})
    )
    chart = alt.hconcat(labels, plot, spacing=6).resolve_scale(y="shared").properties(autosize=PAD)
    return render(chart, chart_id, title, summary)
