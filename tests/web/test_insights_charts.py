"""The dashboard's charts, trade-offs and segment comparison over HTTP: each chart an inline,
named and described SVG next to its table, clean under our CSP; text from budget files escaped
inside it; bad comparison requests told, never a 500. Charts are drawn once per report, from
specs Altair's schema accepts; a chart that fails leaves its table on a page that still loads."""

from __future__ import annotations

import dataclasses
import html
import re

import altair as alt
import polars as pl
import pytest
from altair.utils.schemapi import SchemaValidationError
from starlette.testclient import TestClient

from budget_sim import charts
from budget_sim.insights import report
from budget_sim.model import Budget
from budget_sim.storage import NewSubmission, save_many
from budget_sim.storage.exports import submissions_table
from budget_sim.web.dashboard_charts import chart_job
from tests.web.conftest import SLUG
from tests.web.test_insights_page import staff, up_to_date  # noqa: F401  (staff: a fixture)
from tests.web.test_staff_budgets import GOOD_CSV, admin, publish, submit, upload  # noqa: F401


def two_lines(budget: Budget) -> tuple[dict, dict]:
    """Two unlocked expense lines with room to move a step either way."""
    rows = budget.lines.filter(
        (pl.col("kind") == "expense")
        & ~pl.col("locked")
        & (pl.col("max") >= pl.col("amount") + pl.col("step"))
        & (pl.col("min") <= pl.col("amount") - pl.col("step"))
    )
    return rows.row(0, named=True), rows.row(1, named=True)


def seed(client: TestClient, budget: Budget, count: int, start: int = 0) -> None:
    """`count` submissions: the first half raise one line and cut another, the second half
    the other way round; ages alternate, every third gives none; neighborhoods alternate."""
    first, second = two_lines(budget)
    amounts = dict(budget.lines.select("id", "amount").iter_rows())
    ages, places = ["18-24", "65-plus", None], ["east-cambridge", "area-2-mit"]
    batch = []
    for i in range(count):
        sign = 1 if i < count // 2 else -1
        plan = {
            **amounts,
            first["id"]: first["amount"] + sign * first["step"],
            second["id"]: second["amount"] - sign * second["step"],
        }
        answers = {"neighborhood": places[i % 2]}
        if ages[i % 3]:
            answers["age-band"] = ages[i % 3]
        batch.append(
            NewSubmission(SLUG, budget.version, budget.line_ids, f"n{start + i}", plan, answers)
        )
    with client.app_state["database"].writing() as session:
        save_many(session, batch)


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def test_charts_are_named_described_images_next_to_their_tables(client, budget, staff):  # noqa: F811
    seed(client, budget, 40)
    response = staff.get(f"/staff/b/{SLUG}")
    assert response.status_code == 200
    page = response.text
    charts = svgs(page)
    assert len(charts) == 3  # residents' budget vs the city's, per day, per neighborhood
    for svg in charts:
        title_id = re.search(r'aria-labelledby="([^"]+)"', svg).group(1)
        summary_id = re.search(r'aria-describedby="([^"]+)"', svg).group(1)
        assert 'role="img"' in svg
        assert re.search(rf'<title id="{title_id}">[^<]+</title>', svg)
        summary = re.search(rf'<p id="{summary_id}" class="chart-summary">([^<]+)</p>', page)
        assert summary and len(summary.group(1)) > 20
        # Nothing the CSP (style-src 'self', script-src 'self') would block or that could run.
        assert not re.search(r"<script|<style|\sstyle=|\son\w+=|href=|<foreignObject", svg)
    assert "style-src 'self';" in response.headers["content-security-policy"]
    assert page.count("Show the data as a table") == 2
    assert "<figcaption>Submissions per day</figcaption>" in page  # each chart's visible title
    assert "Submissions per day (UTC)" in page and "submissions against population" in page
    assert "40 submissions over 1 day" in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # chart ids are prefixed per chart: no clashes


def test_trade_offs_are_listed_with_their_reading_and_need_enough_submissions(
    client,
    budget,
    staff,  # noqa: F811
):
    seed(client, budget, 20)
    few = staff.get(f"/staff/b/{SLUG}").text
    assert "Trade-offs: lines residents move together" in few
    assert "Trade-offs need at least 30 submissions; there are 20." in few

    seed(
        client, budget, 20, start=20
    )  # 40 in all: 20 raise one line and cut the other, 20 the reverse
    first, second = two_lines(budget)
    page = html.unescape(up_to_date(staff, f"/staff/b/{SLUG}"))
    assert "The clearest trade-offs, from 40 submissions" in page
    assert f"residents who raised {first['department']}" in page
    assert "tended to cut" in page
    assert "-1.00" in page  # a perfect trade-off: every raise of one went with a cut of the other
    assert "40 moved the first line, 40 the second" in page


def test_segments_side_by_side_with_n_and_small_answers_flagged(client, budget, staff):  # noqa: F811
    seed(client, budget, 40)
    page = html.unescape(staff.get(f"/staff/b/{SLUG}?compare=age-band").text)
    assert "Segments side by side: How old are you?" in page
    assert "Net support by answer to “How old are you?”" in page
    # 40 alternate 18-24, 65-plus, none: 14, 13 and 13 submissions, all fewer than 30.
    assert '18 to 24<br><span class="ci">n=14*' in page
    assert '65 or older<br><span class="ci">n=13*' in page
    assert 'No answer<br><span class="ci">n=13*' in page
    assert 'Under 18<br><span class="ci">n=0*' in page
    assert '<option value="age-band" selected>' in page
    assert '<input type="hidden" name="compare" value="age-band">' in page  # comments keep it

    nothing = staff.get(f"/staff/b/{SLUG}").text
    assert "Choose a question under “Compare by”" in nothing


def test_a_comparison_adds_its_table_to_the_view_without_it(
    client,
    budget,
    staff,  # noqa: F811
    monkeypatch,
):
    """Nothing but the comparison depends on it: choosing one after looking at the dashboard
    computes only the comparison, and the other figures are the same."""
    seed(client, budget, 40)
    plain = staff.get(f"/staff/b/{SLUG}").text
    computed = []
    monkeypatch.setattr(report.dashboard, "whole_budget", lambda *args: computed.append(args))
    compared = staff.get(f"/staff/b/{SLUG}?compare=age-band").text
    assert computed == [] and "Segments side by side: How old are you?" in compared
    assert svgs(compared) == svgs(plain)
    exported = staff.get(f"/api/v1/budgets/{SLUG}/insights?compare=age-band").json()
    assert [table["name"] for table in exported["tables"]][-2:] == [
        "segments-by-age-band",
        "comments",
    ]


@pytest.mark.parametrize("value", ["nonsense", "<script>alert(1)</script>"])
def test_a_comparison_that_cannot_be_made_is_explained(client, budget, staff, value):  # noqa: F811
    seed(client, budget, 2)
    response = staff.get(f"/staff/b/{SLUG}", params={"compare": value})
    assert response.status_code == 200
    assert f"There is no question {value!r} in this budget" in html.unescape(response.text)
    assert "<script>alert" not in response.text


def test_a_program_name_from_a_budget_file_is_escaped_inside_the_chart(admin):  # noqa: F811
    hostile = GOOD_CSV.replace(b"Parks and Recreation,Parks,", b"Parks,<script>alert(1)</script>,")
    assert upload(admin, hostile).status_code == 303
    assert publish(admin).status_code == 303
    assert submit(admin, parks="297000", library="202000").status_code == 303  # a step each
    page = admin.get("/staff/b/springfield-fy2027").text
    (chart,) = [svg for svg in svgs(page) if "chart-whole-budget" in svg]
    assert "&lt;script&gt;alert(" in chart
    assert "<script>alert" not in page


def built_report(client: TestClient, budget: Budget, filters: report.Filters) -> report.Report:
    engine = client.app_state["database"].read_engine
    table = submissions_table(engine, SLUG, budget.line_ids)
    return report.build(table, budget, filters)


def validated(chart: alt.TopLevelMixin, chart_id: str, title: str, summary: str) -> charts.Chart:
    """A stand-in for charts.render (which skips validation): the spec it would draw, checked
    against Altair's schema."""
    chart.configure(**charts.CONFIG).to_dict(validate=True)
    return charts.Chart(chart_id, title, summary, svg="")


def test_every_dashboard_chart_has_a_spec_altair_accepts(client, budget, monkeypatch):
    seed(client, budget, 40)
    built = built_report(client, budget, report.Filters())
    monkeypatch.setattr(charts, "render", validated)
    drawn = [
        job() for name, frame in built.tables.items() if (job := chart_job(budget, name, frame))
    ]
    assert sorted(c.id for c in drawn) == [
        "chart-by-neighborhood",  # Cambridge's neighborhoods have no population
        "chart-per-day",
        "chart-whole-budget",
    ]
    question, frame = built.districts[0]
    with_population = frame.with_columns(population_share=pl.lit(1 / frame.height))
    assert (
        "against population"
        in charts.participation_by_district(question.id, question.label, with_population).title
    )

    bad = (
        alt.Chart(alt.Data(values=[]))
        .mark_bar()
        .encode(x={"field": "x", "axis": {"tickCount": "x"}})
    )
    with pytest.raises(SchemaValidationError):  # the check above would catch a wrong spec
        validated(bad, "bad", "Bad", "")


def test_the_whole_budget_chart_writes_the_budgets_currency(client, budget, monkeypatch):
    seed(client, budget, 4)
    built = built_report(client, budget, report.Filters())
    specs = []
    monkeypatch.setattr(charts, "render", lambda chart, *_: specs.append(chart.to_dict()))
    in_euros = dataclasses.replace(budget, currency="EUR", country="IE")
    chart_job(in_euros, "whole-budget", built.tables["whole-budget"])()
    assert "'€'" in specs[0]["layer"][0]["encoding"]["x"]["axis"]["labelExpr"]


@pytest.fixture
def drawn(monkeypatch) -> list[str]:
    """The id of every dashboard chart rendered from now on (the start-up warm-up left out)."""
    ids: list[str] = []
    render = charts.render

    def counted(chart, chart_id, title, summary):
        if chart_id != "warm-up":
            ids.append(chart_id)
        return render(chart, chart_id, title, summary)

    monkeypatch.setattr(charts, "render", counted)
    return ids


def test_charts_are_drawn_once_per_report(client, budget, staff, drawn):  # noqa: F811
    seed(client, budget, 40)
    first = staff.get(f"/staff/b/{SLUG}").text
    assert sorted(drawn) == ["chart-by-neighborhood", "chart-per-day", "chart-whole-budget"]
    again = staff.get(f"/staff/b/{SLUG}").text
    assert len(drawn) == 3 and svgs(again) == svgs(first)  # the report's charts, kept with it

    seed(client, budget, 2, start=40)
    page = up_to_date(staff, f"/staff/b/{SLUG}")  # the new report is computed in the background
    assert "42 submissions over 1 day" in page and len(svgs(page)) == 3
    assert len(drawn) == 6


def test_a_chart_that_fails_leaves_its_table_and_the_page(
    client,
    budget,
    staff,  # noqa: F811
    monkeypatch,
    caplog,
):
    def broken(per_day: pl.DataFrame) -> charts.Chart:
        raise ValueError("no chart today")

    monkeypatch.setattr(charts, "participation_per_day", broken)
    seed(client, budget, 40)
    response = staff.get(f"/staff/b/{SLUG}")
    assert response.status_code == 200
    assert len(svgs(response.text)) == 2  # the whole budget's and the neighborhoods'
    assert "Submissions per day (UTC)" in response.text  # its table is still there
    assert "<figcaption>Submissions per day</figcaption>" not in response.text
    assert "the dashboard's chart of participation-per-day could not be drawn" in caplog.text
    assert "no chart today" in caplog.text
