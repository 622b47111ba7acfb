"""Charts for the staff dashboard: Altair specs rendered to SVG on the server by vl-convert.

The SVG is made safe to put inline: it is parsed and rebuilt from an allow-list of SVG elements,
without scripts, links, event handlers or style attributes (the CSP blocks inline styles), with
its ids prefixed per chart; text (program names come from budget files) is escaped on the way
out. Each chart is an image with a name and a description; the page puts a table of the same
numbers next to it. vl-convert's first render in a process takes about half a second (later
ones some tens of milliseconds): `warm_up` pays it early, and renders are cached."""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import altair as alt
import polars as pl
import vl_convert

from budget_sim.money import format_compact

SVG_NS = "http://www.w3.org/2000/svg"
ELEMENTS = {"svg", "g", "path", "rect", "line", "circle", "text", "tspan", "defs", "clipPath"}
INK, MUTED, GRID = "#1b1f23", "#4a5560", "#d8dee4"
BLUE, VERMILLION = "#0072b2", "#d55e00"  # Okabe-Ito: told apart with any colour vision
FONT = "Arial, Liberation Sans, Helvetica, sans-serif"  # metrics vl-convert and browsers share
WIDTH = 400  # every chart's whole width in px (13 px text); on narrow screens it scales down
ROW = 18  # px per bar or dot row
MOST_LINES = 20  # bar charts of lines show the ones that change most; tables show them all
CONFIG = {
    "background": "transparent",
    "autosize": {"type": "fit-x", "contains": "padding"},
    "font": FONT,
    "aria": False,  # the whole SVG is one image, named and described below
    "view": {"stroke": None},
    "axis": {
        "labelColor": INK,
        "titleColor": INK,
        "labelFontSize": 13,
        "titleFontSize": 13,
        "titleFontWeight": "normal",
        "gridColor": GRID,
        "domainColor": MUTED,
        "tickColor": MUTED,
    },
    "legend": {"labelFontSize": 13, "labelColor": INK, "orient": "top", "title": None},
}
ET.register_namespace("", SVG_NS)
# Altair checks every part of a chart against the Vega-Lite schema as it is built; that costs
# more than drawing small charts. The tests check every chart's whole spec instead.
alt.utils.schemapi.disable_debug_mode()


@dataclass(frozen=True)
class Chart:
    """A rendered chart: `svg` is safe to insert as is; its description is the element with
    id `summary_id`, which the page must show (the summary, next to the data table)."""

    id: str
    title: str
    summary: str
    svg: str

    @property
    def summary_id(self) -> str:
        return f"{self.id}-summary"


def _local(name: str) -> str:
    return name.rpartition("}")[2]


def _clean(element: ET.Element, prefix: str) -> None:
    """Keep allowed elements and harmless attributes; prefix ids and their references."""
    for child in list(element):
        if _local(child.tag) in ELEMENTS:
            _clean(child, prefix)
        else:
            element.remove(child)
    for name in list(element.attrib):
        local = _local(name)
        value = element.attrib.pop(name)
        if local in ("style", "class", "role", "href") or local.startswith(("on", "aria-")):
            continue
        if local == "id":
            value = f"{prefix}-{value}"
        element.set(local, value.replace("url(#", f"url(#{prefix}-"))


def inline_svg(svg: str, chart_id: str, title: str) -> str:
    """vl-convert's SVG as an inline, accessible, CSP-clean image."""
    root = ET.fromstring(svg)
    _clean(root, chart_id)
    title_element = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{chart_id}-title"})
    title_element.text = title
    root.insert(0, title_element)
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title")
    root.set("aria-describedby", f"{chart_id}-summary")
    root.set("focusable", "false")
    # Registered again each time: importing WeasyPrint (the council report's PDF) registers
    # its own default namespace, and the charts would then come out as <ns0:svg>, which an
    # HTML page does not draw.
    ET.register_namespace("", SVG_NS)
    return ET.tostring(root, encoding="unicode")


@functools.lru_cache(maxsize=64)
def _render(spec: str, chart_id: str, title: str) -> str:
    return inline_svg(vl_convert.vegalite_to_svg(json.loads(spec)), chart_id, title)


def render(chart: alt.TopLevelMixin, chart_id: str, title: str, summary: str) -> Chart:
    """Render an Altair chart (cached by its spec). Its spec is not validated here (Altair's
    validation costs more than drawing some charts): the tests validate every chart's."""
    spec = json.dumps(chart.configure(**CONFIG).to_dict(validate=False), sort_keys=True)
    return Chart(chart_id, title, summary, _render(spec, chart_id, title))


def warm_up() -> None:
    """Render a tiny chart, so that the first dashboard does not wait for vl-convert."""
    tiny = alt.Chart(alt.Data(values=[{"x": 1}])).mark_point().encode(x="x:Q")
    render(tiny, "warm-up", "Warm-up", "")


def _compact_axis(symbol: str) -> str:
    """A Vega label expression: 1200000 -> "$1.2M", -30000 -> "−$30k"."""
    return (
        "(datum.value < 0 ? '−' : '') + '" + symbol.replace("'", "") + "' + "
        "replace(format(abs(datum.value), '~s'), 'G', 'B')"
    )


def participation_per_day(per_day: pl.DataFrame) -> Chart:
    """Submissions per UTC day, as bars."""
    data = per_day.select(pl.col("day").cast(pl.String), "submissions").to_dicts()
    busiest = per_day.sort("submissions", descending=True, maintain_order=True).row(0, named=True)
    days = per_day.height
    summary = (
        f"{int(per_day['submissions'].sum()):,} submissions over {days} day"
        f"{'' if days == 1 else 's'}, from {per_day['day'].min()} to {per_day['day'].max()}; "
        f"the busiest day was {busiest['day']} with {busiest['submissions']:,}."
    )
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X(
                "day:T",
                timeUnit="utcyearmonthdate",
                title=None,
                axis=alt.Axis(format="%b %-d", labelAngle=0, labelOverlap=True, grid=False),
            ),
            y=alt.Y("submissions:Q", title="Submissions", axis=alt.Axis(tickMinStep=1)),
        )
        .properties(width=WIDTH, height=160)
    )
    return render(chart, "chart-per-day", "Submissions per day", summary)


def participation_by_district(question_id: str, label: str, frame: pl.DataFrame) -> Chart:
    """Each option's share of submissions next to its share of the population (when known)."""
    known = frame["population_share"].drop_nulls().len() > 0
    rows = frame.select(
        "label",
        pl.col("share").fill_null(0.0).alias("Submissions"),
        pl.col("population_share").alias("Population"),
    )
    data = rows.unpivot(index="label", variable_name="measure", value_name="share").drop_nulls()
    order = frame["label"].to_list()
    gaps = rows.with_columns(gap=pl.col("Submissions") - pl.col("Population"))
    if known and gaps["gap"].drop_nulls().len():
        most = gaps.sort("gap", descending=True, nulls_last=True).row(0, named=True)
        least = gaps.sort("gap", nulls_last=True).row(0, named=True)
        summary = (
            f"Share of submissions against share of population for {frame.height} options. "
            f"Most over-represented: {most['label']} ({most['Submissions']:.1%} of submissions, "
            f"{most['Population']:.1%} of residents); most under-represented: {least['label']} "
            f"({least['Submissions']:.1%} of submissions, {least['Population']:.1%} of residents)."
        )
    else:
        summary = (
            f"Share of submissions for {frame.height} options; their populations are unknown, "
            "so representation cannot be judged."
        )
    measures = ["Submissions", "Population"] if known else ["Submissions"]
    chart = (
        alt.Chart(alt.Data(values=data.to_dicts()))
        .mark_point(filled=True, size=70, opacity=1)
        .encode(
            y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=170)),
            x=alt.X("share:Q", title="Share", axis=alt.Axis(format=".1~%", tickCount=5)),
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(domain=measures, range=[BLUE, VERMILLION][: len(measures)]),
            ),
            shape=alt.Shape(
                "measure:N",
                scale=alt.Scale(domain=measures, range=["circle", "diamond"][: len(measures)]),
            ),
        )
        .properties(width=WIDTH, height=max(ROW * frame.height, 40))
    )
    title = f"Submissions{' against population' if known else ''}, by answer to “{label}”"
    return render(chart, f"chart-by-{question_id}", title, summary)


def independent_markets_vs_city(
    whole: pl.DataFrame, symbol: str = "$", column: str = "independent_markets", label: str = ""
) -> Chart:
    """Residents' budget (the method in `column`, named `label`; by default Independent
    Markets) minus the city's, for the programs it moves most, as bars either side of zero."""
    name = (  # the program, and its department too when another program has its name
        pl.when(pl.col("program").is_duplicated())
        .then(pl.format("{} ({})", "program", "department"))
        .otherwise(pl.col("program"))
    )
    changes = whole.select(name=name, change=(pl.col(column) - pl.col("city")) / 100).filter(
        pl.col("change").is_not_nan() & pl.col("change").is_not_null()
    )
    shown = changes.sort(pl.col("change").abs(), descending=True).head(MOST_LINES)
    shown = shown.sort("change", descending=True)
    raised, cut = (changes["change"] > 0.5).sum(), (changes["change"] < -0.5).sum()
    summary = (
        f"Of {changes.height} programs, residents' budget gives {raised} more and {cut} less "
        "than the city proposes."
    )
    if shown.height:
        top, bottom = shown.row(0, named=True), shown.row(-1, named=True)
        if top["change"] > 0.5:
            summary += f" Largest rise: {top['name']} ({_money(top['change'], symbol)})."
        if bottom["change"] < -0.5:
            summary += f" Largest cut: {bottom['name']} ({_money(bottom['change'], symbol)})."
    if changes.height > MOST_LINES:
        summary += f" The chart shows the {MOST_LINES} programs that move most."
    bars = (
        alt.Chart(alt.Data(values=shown.to_dicts()))
        .mark_bar()
        .encode(
            y=alt.Y("name:N", sort=None, title=None, axis=alt.Axis(labelLimit=180, ticks=False)),
            x=alt.X(
                "change:Q",
                title="Residents' budget minus the city's",
                axis=alt.Axis(labelExpr=_compact_axis(symbol), tickCount=5),
            ),
            color=alt.condition("datum.change >= 0", alt.value(BLUE), alt.value(VERMILLION)),
        )
    )
    zero = alt.Chart(alt.Data(values=[{"zero": 0}])).mark_rule(color=INK).encode(x="zero:Q")
    chart = (bars + zero).properties(width=WIDTH, height=max(ROW * shown.height, 40))
    title = "Residents' budget against the city's" + (f" ({label})" if label else "")
    return render(chart, "chart-whole-budget", title, summary)


def _money(units: float, symbol: str) -> str:
    sign = "+" if units > 0 else ""
    return sign + format_compact(round(units * 100), symbol)
