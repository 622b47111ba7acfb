"""The public results page and open data: nothing until an admin publishes them, the headline
and participation after (in English and Spanish), and an open-data file that holds no
receipts, comments, times or languages, leaves out demo submissions and blanks small cells."""

from __future__ import annotations

import io

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.web.resident.public_results import SMALL_CELL, open_data
from tests.web.conftest import SLUG
from tests.web.test_insight_exports import FORMULA, expected, seed
from tests.web.test_staff import csrf_of, make_staff, sign_in, sql

RESULTS = f"/b/{SLUG}/results"


@pytest.fixture
def residents(client, budget):
    """12 residents aged 25-34 (10 in Riverside), 3 aged 65+, and 4 demo submissions."""
    specs = [
        {
            "steps": n % 3,
            "answers": {"age-band": "25-34", "neighborhood": "riverside" if n < 10 else "baldwin"},
            "comments": {"": FORMULA if n == 0 else "secret plans"},
        }
        for n in range(12)
    ]
    specs += [{"steps": 1, "answers": {"age-band": "65-plus"}} for _ in range(3)]
    specs += [{"steps": 2, "synthetic": True, "answers": {"age-band": "18-24"}}] * 4
    seed(client, budget, specs)


def set_public(admin: TestClient, publish: bool, slug: str = SLUG):
    page = admin.get("/staff/budgets")
    return admin.post(
        f"/staff/budgets/{slug}/results",
        data={"csrf": csrf_of(page.text), "publish": "1" if publish else "0"},
    )


def test_nothing_is_public_until_an_admin_publishes(client, admin, residents):
    for path in (RESULTS, f"{RESULTS}/open-data.csv", f"{RESULTS}/open-data.parquet"):
        response = client.get(path)
        assert response.status_code == 404
        assert "has not published the results" in response.text
    spanish = client.get(f"{RESULTS}?lang=es")
    assert spanish.status_code == 404 and "no ha publicado los resultados" in spanish.text
    assert client.get("/b/no-such-budget/results").status_code == 404

    response = set_public(admin, True)
    assert response.status_code == 303
    listing = admin.get(response.headers["location"]).text
    assert "Results published." in listing and "Withdraw results" in listing
    assert client.get(RESULTS).status_code == 200

    assert set_public(admin, False).status_code == 303
    assert client.get(RESULTS).status_code == 404
    assert client.get(f"{RESULTS}/open-data.csv").status_code == 404
    log = admin.get("/staff/audit").text
    assert "published results" in log and "withdrew results" in log


def test_only_admins_may_publish(client, settings, residents):
    make_staff(settings.database_url, "an@city.gov", role="analyst")
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as analyst:
        sign_in(analyst, "an@city.gov")
        csrf = csrf_of(analyst.get("/staff").text)
        response = analyst.post(
            f"/staff/budgets/{SLUG}/results", data={"csrf": csrf, "publish": "1"}
        )
        assert response.status_code == 403
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as stranger:
        assert (
            stranger.post(f"/staff/budgets/{SLUG}/results", data={"publish": "1"}).status_code
            == 403
        )
    assert client.get(RESULTS).status_code == 404


def test_publish_refuses_bad_input(admin):
    csrf = csrf_of(admin.get("/staff/budgets").text)
    response = admin.post(f"/staff/budgets/{SLUG}/results", data={"csrf": csrf, "publish": "yes"})
    assert response.status_code == 400 and "publish must be 1" in response.text
    missing = admin.post("/staff/budgets/no-such/results", data={"csrf": csrf, "publish": "1"})
    assert missing.status_code == 404
    forged = admin.post(f"/staff/budgets/{SLUG}/results", data={"csrf": "x", "publish": "1"})
    assert forged.status_code == 403
    assert admin.get("/staff/budgets?results=published-a/b").status_code == 200


def test_the_page_shows_the_headline_and_participation(client, admin, budget, residents):
    set_public(admin, True)
    response = client.get(RESULTS)
    html = response.text
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "What residents want" in html and "Shown here: Average of residents" in html
    assert "Majority view" in html and "nobody can pull by exaggerating" in html
    assert "Budgets submitted by residents: 15" in html  # demo submissions left out
    assert "Figures as of" in html and "Riverside" in html
    whole = expected(client, budget).tables["whole-budget"]
    first = whole.row(0, named=True)
    program = budget.lines.filter(pl.col("id") == first["line_id"])["program"][0]
    assert program in html
    dollars = f"${round(first['mean'] / 100):,}"
    assert dollars in html
    assert "secret plans" not in html and FORMULA not in html  # comments stay private
    assert "open-data.csv" in html and "fewer than 10 residents" in html
    gz = client.get(RESULTS, headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("content-encoding") == "gzip"  # public: compressed


def test_the_page_in_spanish(client, admin, residents):
    set_public(admin, True)
    html = client.get(f"{RESULTS}?lang=es").text
    assert '<html lang="es">' in html
    assert "Lo que quieren los residentes" in html and "Datos abiertos" in html
    assert "Presupuestos enviados por residentes: 15" in html
    assert "What residents want" not in html


def test_an_empty_budget_says_so(client, admin):
    set_public(admin, True)
    html = client.get(RESULTS).text
    assert "No budget has been submitted yet." in html


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_open_data_is_anonymised(client, admin, budget, residents, fmt):
    set_public(admin, True)
    response = client.get(f"{RESULTS}/open-data.{fmt}")
    assert response.status_code == 200
    assert f'filename="{SLUG}-open-data.{fmt}"' in response.headers["content-disposition"]
    if fmt == "csv":
        frame = pl.read_csv(io.BytesIO(response.content), infer_schema=False)
    else:
        frame = pl.read_parquet(io.BytesIO(response.content))
    answers = [f"answer.{q.id}" for q in budget.questions]
    assert frame.columns == [*budget.line_ids, *answers]
    assert frame.height == 15  # no demo submission
    receipts = [
        r for (r,) in sql(str(client.app_state["database"].url), "SELECT receipt FROM submissions")
    ]
    body = response.content
    assert not any(r.encode() in body for r in receipts)
    assert b"secret plans" not in body and b"HYPERLINK" not in body
    assert b"18-24" not in body  # the demo submissions' answer
    ages = frame["answer.age-band"].to_list()
    places = frame["answer.neighborhood"].to_list()
    assert "65-plus" not in ages and "baldwin" not in places  # 3 and 2 residents: blanked
    # 25-34 in Riverside is shared by 10; 25-34 with no neighborhood left by only 2: blanked
    assert ages.count("25-34") == 10 and places.count("riverside") == 10
    assert set(frame["answer.zip"].to_list()) <= {None, ""}
    amounts = frame[budget.line_ids[0]].to_list()
    assert all(x is not None for x in amounts)


def test_small_cells_and_rare_combinations_are_blanked(budget):
    lines = {line: [100] * 40 for line in budget.line_ids}
    ages = ["25-34"] * 20 + ["35-44"] * 20
    places = ["riverside"] * 15 + ["baldwin"] * 5 + ["riverside"] * 5 + ["baldwin"] * 15
    table = pl.DataFrame(
        {
            **lines,
            "answer.age-band": ages,
            "answer.neighborhood": places,
            "answer.zip": ["02138"] * 39 + ["not-an-option"],
            "synthetic": [False] * 40,
            "receipt": [f"r{n}" for n in range(40)],
        }
    )
    frame = open_data(budget, table)
    combos = (
        frame.group_by("answer.age-band", "answer.neighborhood", "answer.zip")
        .len()
        .filter(pl.any_horizontal(pl.col("^answer.*$").is_not_null()))
    )
    assert combos["len"].min() >= SMALL_CELL  # every combination left is shared by 10 or more
    assert frame.height == 40 and "receipt" not in frame.columns
    assert "not-an-option" not in frame["answer.zip"].to_list()
    kept = frame.filter(pl.col("answer.age-band").is_not_null())  # only what had to go went
    assert kept.group_by(pl.col("^answer.*$")).len().sort("len")["len"].to_list() == [14, 15]


def test_open_data_rows_are_shuffled(budget):
    line = budget.line_ids[0]
    table = pl.DataFrame(
        {**{other: [0] * 200 for other in budget.line_ids}, "synthetic": [False] * 200}
    ).with_columns(pl.Series(line, list(range(200))))
    orders = {tuple(open_data(budget, table)[line].to_list()) for _ in range(3)}
    assert len(orders) > 1 and tuple(range(200)) not in orders


def test_a_receipt_links_to_the_results_once_they_are_public(client, admin, settings, residents):
    (receipt,) = sql(settings.database_url, "SELECT receipt FROM submissions LIMIT 1")[0]
    path = f"/b/{SLUG}/r/{receipt}"
    assert "See what residents want so far" not in client.get(path).text
    set_public(admin, True)
    page = client.get(path).text
    assert f'class="results-link" href="{RESULTS}"' in page
    spanish = client.get(f"{path}?lang=es").text
    assert f'href="{RESULTS}?lang=es"' in spanish
    assert "Ver lo que quieren los residentes hasta ahora" in spanish
    framed = client.get(f"{path}?embed=1").text  # from the frame: the full site, in a new tab
    assert 'target="_blank" rel="noopener">See what residents want so far' in framed
    assert f'href="{RESULTS}" target="_blank"' in framed
