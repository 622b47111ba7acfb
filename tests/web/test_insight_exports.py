"""Insight tables as files staff download: every table in every format carries the numbers
report.build computes (money in currency units to the cent, shares as fractions), under the
dashboard's filters, with formulas inert, access checked and every download audited."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from decimal import Decimal

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.insights import report
from budget_sim.storage import NewSubmission, save_many
from budget_sim.storage.exports import submissions_table
from tests.web.conftest import SLUG, adjustable_expense
from tests.web.test_staff import make_staff, sign_in

FORMULA = '=HYPERLINK("http://x","y")'
FORMATS = ("csv", "xlsx", "parquet")
MONEY = {
    "lines": {
        "city": "city_amount",
        "mean": "mean_amount",
        "mean_low": "mean_amount_low95",
        "mean_high": "mean_amount_high95",
        "median": "median_amount",
        "q1": "q1_amount",
        "q3": "q3_amount",
    },
    "whole-budget": {
        "city": "city_amount",
        "independent_markets": "independent_markets_amount",
        "mean": "mean_amount",
        "median": "median_rescaled_amount",
        "utilitarian": "majority_view_amount",
    },
}
SHARES = {"raised": "share_raised", "cut": "share_cut", "kept": "share_kept"}


def seed(client, budget, specs: list[dict]) -> None:
    """Store submissions: each spec may give steps (above the city on one line), answers,
    comments and synthetic."""
    line = adjustable_expense(budget)
    city = dict(budget.lines.select("id", "amount").iter_rows())
    batch = [
        NewSubmission(
            SLUG,
            budget.version,
            budget.line_ids,
            uuid.uuid4().hex,
            {**city, line["id"]: line["amount"] + spec.get("steps", 0) * line["step"]},
            spec.get("answers", {}),
            spec.get("synthetic", False),
            spec.get("comments", {}),
        )
        for spec in specs
    ]
    with client.app_state["database"].writing() as session:
        save_many(session, batch)


def expected(client, budget, filters: report.Filters | None = None) -> report.Report:
    filters = filters or report.Filters()
    engine = client.app_state["database"].read_engine
    table = submissions_table(
        engine, SLUG, budget.line_ids, include_synthetic=filters.include_synthetic
    )
    return report.build(table, budget, filters)


def read(content: bytes, fmt: str) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(content), infer_schema=False)  # every cell as text
    if fmt == "xlsx":
        return pl.read_excel(io.BytesIO(content))
    return pl.read_parquet(io.BytesIO(content))


def units(cents: float | None) -> Decimal | None:
    return None if cents is None else Decimal(round(cents)) / 100


def same_money(cell, cents: float | None, fmt: str) -> bool:
    if cents is None:
        return cell in (None, "")
    if fmt == "xlsx":  # Excel keeps numbers as floats
        return abs(float(cell) - float(units(cents))) < 0.005
    return Decimal(str(cell)) == units(cents)


@pytest.fixture
def staff_client(admin):
    """A signed-in admin's browser."""
    return admin


@pytest.fixture
def residents(client, budget):
    """Twelve residents (two ages, two neighborhoods, one comment a formula), two demo ones."""
    specs = [
        {
            "steps": n % 3,
            "answers": {
                "age-band": "25-34" if n < 8 else "65-plus",
                "neighborhood": "riverside" if n % 2 else "baldwin",
            },
            "comments": {"": FORMULA} if n == 0 else {"": f"comment {n}"},
        }
        for n in range(12)
    ]
    specs += [{"steps": 2, "synthetic": True} for _ in range(2)]
    seed(client, budget, specs)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_table_in_every_format_matches_the_report(
    staff_client, client, budget, residents, fmt
):
    built = expected(client, budget)
    assert {"lines", "whole-budget", "participation-per-day", "comments"} <= set(built.tables)
    for name, frame in built.tables.items():
        response = staff_client.get(f"/staff/b/{SLUG}/insights/{name}.{fmt}")
        assert response.status_code == 200, (name, response.text)
        assert response.headers["cache-control"] == "no-store"
        assert f'filename="{SLUG}-{name}.{fmt}"' in response.headers["content-disposition"]
        got = read(response.content, fmt)
        assert got.height == frame.height, name
        money = MONEY.get(name, {})
        for old, new in money.items():
            assert old not in got.columns and new in got.columns, (name, new)
            for cell, cents in zip(got[new].to_list(), frame[old].to_list(), strict=True):
                assert same_money(cell, cents, fmt), (name, new, cell, cents)
        if fmt == "parquet":
            assert all(got.schema[new] == pl.Decimal(20, 2) for new in money.values())
        if name == "lines":
            for old, new in SHARES.items():
                for cell, share in zip(got[new].to_list(), frame[old].to_list(), strict=True):
                    assert abs(float(cell) - share) < 1e-9
            assert got["line_id"].to_list() == budget.line_ids
        if name == "participation-per-day":
            assert [int(x) for x in got["submissions"].to_list()] == frame["submissions"].to_list()
            assert "running_total" in got.columns
        if name == "participation-by-neighborhood":
            counts = dict(zip(got["option"].to_list(), got["submissions"].to_list(), strict=True))
            assert int(counts["riverside"]) == 6 and int(counts["baldwin"]) == 6
            assert {"share_of_answering", "share_of_population"} <= set(got.columns)


def test_whole_budget_headline_to_the_cent(staff_client, client, budget, residents):
    frame = expected(client, budget).tables["whole-budget"]
    got = read(
        staff_client.get(f"/staff/b/{SLUG}/insights/whole-budget.parquet").content, "parquet"
    )
    first = frame.row(0, named=True)
    row = got.row(0, named=True)
    assert row["line_id"] == first["line_id"]
    assert row["independent_markets_amount"] == Decimal(round(first["independent_markets"])) / 100


def test_formulas_in_comments_come_back_inert(staff_client, residents):
    text = staff_client.get(f"/staff/b/{SLUG}/insights/comments.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "'" + FORMULA in [row["text"] for row in rows]
    assert not any(row["text"].startswith(("=", "+", "-", "@")) for row in rows)

    book = staff_client.get(f"/staff/b/{SLUG}/insights/comments.xlsx").content
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    assert FORMULA in pl.read_excel(io.BytesIO(book))["text"].to_list()

    parquet = pl.read_parquet(
        io.BytesIO(staff_client.get(f"/staff/b/{SLUG}/insights/comments.parquet").content)
    )
    assert FORMULA in parquet["text"].to_list()  # not a spreadsheet: the text as written


def test_filters_apply(staff_client, client, budget, residents):
    def lines(query: str) -> pl.DataFrame:
        response = staff_client.get(f"/staff/b/{SLUG}/insights/lines.parquet{query}")
        assert response.status_code == 200, response.text
        return pl.read_parquet(io.BytesIO(response.content))

    assert lines("")["submissions"][0] == 12
    assert lines("?synthetic=1")["submissions"][0] == 14
    older = lines("?segment=age-band:65-plus")
    assert older["submissions"][0] == 4
    segment = report.Filters(segment=("age-band", "65-plus"))
    mean = expected(client, budget, segment).tables["lines"]["mean"].to_list()
    assert older["mean_amount"].to_list() == [units(x) for x in mean]
    response = staff_client.get(
        f"/staff/b/{SLUG}/insights/lines.csv?synthetic=1&segment=age-band:65-plus"
    )
    name = f"{SLUG}-lines-with-demo-segment-age-band-65-plus.csv"
    assert f'filename="{name}"' in response.headers["content-disposition"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?segment=age-band:200-plus", "segment must be question:option"),
        ("?segment=nope", "segment must be question:option"),
        ("?weights=zip", "weights must be district"),
        ("?synthetic=yes", "synthetic must be 1"),
    ],
)
def test_bad_filters_get_a_clear_400(staff_client, residents, query, says):
    response = staff_client.get(f"/staff/b/{SLUG}/insights/lines.csv{query}")
    assert response.status_code == 400 and says in response.text


def test_unknown_tables_and_formats_are_404_with_the_choices(staff_client, residents):
    response = staff_client.get(f"/staff/b/{SLUG}/insights/nope.csv")
    assert response.status_code == 404 and "whole-budget" in response.text
    assert staff_client.get(f"/staff/b/{SLUG}/insights/lines.exe").status_code == 404
    assert staff_client.get("/staff/b/no-such-budget/insights/lines.csv").status_code == 404


def test_workbook_has_every_table_as_a_sheet(staff_client, client, budget, residents):
    response = staff_client.get(f"/staff/b/{SLUG}/insights.xlsx?segment=age-band:25-34")
    assert response.status_code == 200
    sheets = pl.read_excel(io.BytesIO(response.content), sheet_id=0)
    built = expected(client, budget, report.Filters(segment=("age-band", "25-34")))
    assert list(sheets) == ["about", *built.tables]
    about = dict(sheets["about"].iter_rows())
    assert "segment=('age-band', '25-34')" in about["filters"]
    assert about["submissions counted"] == "8"
    assert sheets["lines"]["submissions"][0] == 8
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in archive.read(name).decode()


def test_the_dashboard_links_every_table_with_its_filters(staff_client, residents):
    html = staff_client.get(f"/staff/b/{SLUG}?segment=age-band:25-34&q=x").text
    assert f"/staff/b/{SLUG}/insights.xlsx?segment=age-band%3A25-34" in html
    for name in ("lines", "whole-budget", "participation-per-day", "comments"):
        assert f'/staff/b/{SLUG}/insights/{name}.csv?segment=age-band%3A25-34"' in html


def test_new_routes_need_a_signed_in_account_with_access(client, settings, residents):
    paths = [
        f"/staff/b/{SLUG}/insights/lines.csv",
        f"/staff/b/{SLUG}/insights/comments.parquet",
        f"/staff/b/{SLUG}/insights.xlsx",
        "/staff/tokens",
    ]
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as stranger:
        for path in paths:
            response = stranger.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/staff/login?next=")
    make_staff(settings.database_url, "an@city.gov", role="analyst", budgets=["oakland-fy2023"])
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as analyst:
        sign_in(analyst, "an@city.gov")
        for path in paths[:3]:
            assert analyst.get(path).status_code == 404, path
        assert analyst.get("/staff/b/oakland-fy2023/insights/lines.csv").status_code == 200
        assert analyst.get("/staff/b/oakland-fy2023/insights.xlsx").status_code == 200


def test_insight_exports_are_audited(staff_client, residents):
    staff_client.get(f"/staff/b/{SLUG}/insights/lines.csv?segment=age-band:65-plus")
    staff_client.get(f"/staff/b/{SLUG}/insights.xlsx")
    log = staff_client.get("/staff/audit").text
    assert "exported insight table" in log and f"{SLUG} lines csv rows=" in log
    assert "segment=(&#39;age-band&#39;, &#39;65-plus&#39;)" in log
    assert "exported insight tables" in log


def test_compared_segments_export_money_in_units(staff_client, client, budget, residents):
    filters = report.Filters(compare="age-band")
    built = expected(client, budget, filters).tables["segments-by-age-band"]
    response = staff_client.get(
        f"/staff/b/{SLUG}/insights/segments-by-age-band.parquet?compare=age-band"
    )
    assert response.status_code == 200, response.text
    got = pl.read_parquet(io.BytesIO(response.content))
    assert got.height == built.height and got.schema["mean_amount"] == pl.Decimal(20, 2)
    assert got["mean_amount"].to_list() == [units(x) for x in built["mean"].to_list()]
    assert "share_raised" in got.columns and "mean" not in got.columns
    bad = staff_client.get(f"/staff/b/{SLUG}/insights/lines.csv?compare=shoe-size")
    assert bad.status_code == 400 and "compare must be a question" in bad.text
