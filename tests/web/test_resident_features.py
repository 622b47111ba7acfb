"""What residents get beyond the bare simulator: Spanish, comments, drafts, resets, consequence
texts and questions. Each test goes through HTTP against a real app and database."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from budget_sim import resources
from budget_sim.settings import Settings
from budget_sim.web import create_app
from tests.conftest import TEST_HOSTS
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, grouped, units


def stored(url: str, query: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text(query))]
    engine.dispose()
    return rows


def balanced_pair(budget):
    """A line raised by one step and the amount that keeps the budget within the tolerance."""
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    return line, line["amount"] + line["step"]


def test_spanish_page_is_spanish_with_us_money(client, budget):
    page = client.get(f"/b/{SLUG}?lang=es").text
    assert '<html lang="es">' in page
    assert "Enviar mi presupuesto" in page and "Su presupuesto" in page
    assert "Sistema Escolar" in page  # department names come from the package, per locale
    assert "$280,250,000" in page  # Spanish in the US writes dollars the US way
    assert 'name="lang" value="es"' in page  # the language travels with the form, not a cookie
    assert "set-cookie" not in client.get(f"/b/{SLUG}?lang=es").headers


def test_unknown_language_falls_back_to_english(client):
    page = client.get(f"/b/{SLUG}?lang=xx").text
    assert '<html lang="en">' in page and "Submit my budget" in page


def test_spanish_recalculation_and_errors(client, budget, rows):
    line = adjustable_expense(budget)
    page = client.get(f"/b/{SLUG}?lang=es").text
    form = {"ballot": ballot_of(page), "lang": "es", f"line.{line['id']}": units(line["max"])}
    fragment = client.post(f"/b/{SLUG}", data=form, headers={"HX-Request": "true"}).text
    assert "Para enviarlo, recorte el gasto o aumente los ingresos en" in fragment
    refused = client.post(f"/b/{SLUG}/submit", data={**form, f"line.{line['id']}": "1,0,0"})
    assert refused.status_code == 422
    assert "debe ser una cantidad como 17,000,000" in refused.text
    assert "Su presupuesto aún no se envió" in refused.text
    assert rows.submissions() == 0


def test_comments_are_stored_shown_and_limited(client, budget, rows, settings):
    line, chosen = balanced_pair(budget)
    page = client.get(f"/b/{SLUG}").text
    form = {
        "ballot": ballot_of(page),
        f"line.{line['id']}": units(chosen),
        f"comment.{line['id']}": "More for this, please <b>now</b>",
        "comment": "Thanks for asking.",
    }
    too_long = {**form, "comment": "x" * 2001}
    refused = client.post(f"/b/{SLUG}/submit", data=too_long)
    assert refused.status_code == 422
    assert "is too long: at most 2000 characters" in refused.text
    assert 'id="k-overall"' in refused.text and 'aria-describedby="ke-overall"' in refused.text
    assert rows.submissions() == 0

    response = client.post(f"/b/{SLUG}/submit", data=form)
    assert response.status_code == 303
    assert sorted(stored(settings.database_url, "SELECT line_id, text FROM comments")) == [
        ("", "Thanks for asking."),
        (line["id"], "More for this, please <b>now</b>"),
    ]
    receipt = client.get(response.headers["location"]).text
    # the shareable receipt shows the budget only: comments are for the city's staff
    assert "More for this, please" not in receipt and "Thanks for asking." not in receipt
    shown_again = client.post(f"/b/{SLUG}", data={**form, "comment": "x" * 2001}).text
    assert "More for this, please &lt;b&gt;now&lt;/b&gt;" in shown_again  # escaped, never markup


def test_the_language_used_is_recorded(client, budget, settings):
    page = client.get(f"/b/{SLUG}?lang=es").text
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": ballot_of(page), "lang": "es"})
    assert response.status_code == 303 and response.headers["location"].endswith("?lang=es")
    assert stored(settings.database_url, "SELECT locale FROM submissions") == [("es",)]
    assert "Gracias: recibimos su presupuesto." in client.get(response.headers["location"]).text


def test_a_draft_link_restores_everything_and_can_be_submitted(client, budget, rows):
    line = adjustable_expense(budget)
    page = client.get(f"/b/{SLUG}").text
    form = {
        "ballot": ballot_of(page),
        f"line.{line['id']}": units(line["max"]),  # out of balance: a draft may be unfinished
        f"comment.{line['id']}": "Keep this",
        "answer.age-band": "35-44",
    }
    saved = client.post(f"/b/{SLUG}/draft", data=form)
    assert saved.status_code == 303
    link = saved.headers["location"]
    assert re.fullmatch(rf"/b/{SLUG}/d/[A-Za-z0-9_-]{{22,}}", link)
    assert rows.submissions() == 0  # a draft is not a submission

    with TestClient(client.app, follow_redirects=False) as stranger:  # another device
        resumed = stranger.get(link).text
    # shown as the whole address, to keep or send elsewhere
    assert "Your draft is saved." in resumed and html.escape(f"http://testserver{link}") in resumed
    assert f'value="{units(line["max"])}"' in resumed
    assert "Keep this</textarea>" in resumed
    assert re.search(r'<option value="35-44" selected>', resumed)
    assert client.get(f"/b/{SLUG}/d/not-a-draft").status_code == 404


def test_a_draft_needs_a_ballot_from_this_site(client, rows):
    refused = client.post(f"/b/{SLUG}/draft", data={"ballot": "forged"})
    assert refused.status_code == 403


@pytest.mark.parametrize("target", ["one", "*"])
def test_reset_puts_lines_back_without_javascript(client, budget, target):
    line = adjustable_expense(budget)
    page = client.get(f"/b/{SLUG}").text
    form = {
        "ballot": ballot_of(page),
        f"line.{line['id']}": units(line["max"]),
        "reset": line["id"] if target == "one" else "*",
    }
    response = client.post(f"/b/{SLUG}", data=form)
    assert response.status_code == 200
    field = re.search(rf'<input type="text"[^>]*id="n-{line["id"]}"[^>]*>', response.text, re.S)
    assert f'value="{grouped(line["amount"])}"' in field.group(0)
    assert "Balanced: your budget meets the city's rule" in response.text


def test_answers_are_validated_and_stored(client, budget, rows, settings):
    page = client.get(f"/b/{SLUG}").text
    bad = client.post(
        f"/b/{SLUG}/submit", data={"ballot": ballot_of(page), "answer.age-band": "ancient"}
    )
    assert bad.status_code == 422 and "must be one of the listed choices" in bad.text
    assert rows.submissions() == 0
    good = client.post(
        f"/b/{SLUG}/submit",
        data={"ballot": ballot_of(page), "answer.age-band": "65-plus", "answer.zip": "02139"},
    )
    assert good.status_code == 303
    [(answers,)] = stored(settings.database_url, "SELECT answers FROM submissions")
    assert json.loads(answers) == {"age-band": "65-plus", "zip": "02139"}


@pytest.fixture
def consequence_client(database_url, tmp_path):
    """Cambridge with consequence texts on one line (as a city would add them)."""
    data = tmp_path / "data"
    shutil.copytree(resources.budget_data() / SLUG, data / SLUG)
    lines = data / SLUG / "lines.csv"
    rows = lines.read_text(encoding="utf-8").splitlines()
    rows[0] += ",consequences,consequences_es,link"
    rows[1:] = [
        row
        + (
            ',"-5%: Fewer classroom aides | +5%: More aides",-5%: Menos asistentes,'
            "https://www.cambridgema.gov/departments/budget"
            if i == 0
            else ",,,"
        )
        for i, row in enumerate(rows[1:])
    ]
    lines.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = Settings(
        database_url=database_url,
        data_dir=data,
        instance_dir=tmp_path / "instance",
        secret_key="test-secret-key-not-for-production",
        allowed_hosts=TEST_HOSTS,
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


def test_consequence_text_follows_the_level(consequence_client):
    client = consequence_client
    budget = client.app_state["budgets"][SLUG]
    line = budget.lines.row(0, named=True)
    page = client.get(f"/b/{SLUG}").text
    # a polite live region, there from the start: screen readers announce what appears in it
    assert re.search(rf'<p class="consequence" id="c-{line["id"]}" aria-live="polite"></p>', page)
    assert '<a href="https://www.cambridgema.gov/departments/budget" target="_blank"' in page
    cut = line["amount"] - line["amount"] * 6 // 100 // line["step"] * line["step"]
    form = {"ballot": ballot_of(page), f"line.{line['id']}": units(cut)}
    fragment = client.post(f"/b/{SLUG}", data=form, headers={"HX-Request": "true"}).text
    swapped = rf'id="c-{line["id"]}" hx-swap-oob="innerHTML"><strong>What this means:</strong> '
    assert re.search(swapped + "Fewer classroom aides", fragment)
    spanish = client.post(f"/b/{SLUG}", data={**form, "lang": "es"}).text
    assert "Menos asistentes" in spanish
    small = line["amount"] - line["step"]  # 1%: below the first level, nothing shown
    quiet = client.post(f"/b/{SLUG}", data={**form, f"line.{line['id']}": units(small)}).text
    assert "Fewer classroom aides" not in quiet


def test_a_draft_saved_inside_an_embed_links_to_the_full_site(client):
    page = client.get(f"/b/{SLUG}/embed?lang=es").text
    saved = client.post(
        f"/b/{SLUG}/draft", data={"ballot": ballot_of(page), "embed": "1", "lang": "es"}
    )
    assert "embed=1" in saved.headers["location"]  # the resident stays in the frame
    shown = client.get(saved.headers["location"]).text
    link = re.search(r'<a class="draft-link" href="([^"]+)"', shown).group(1)
    assert link.endswith("?lang=es") and "embed" not in link


def test_long_comments_on_a_large_budget_are_accepted(client, rows):
    """Oakland's full form with a 500-character comment on 120 lines (about 80 KB, accented)."""
    oakland = client.app_state["budgets"]["oakland-fy2023"]
    page = client.get("/b/oakland-fy2023").text
    comment = "é" * 500
    form = {"ballot": ballot_of(page)}
    form.update({f"comment.{line_id}": comment for line_id in oakland.line_ids[:120]})
    response = client.post("/b/oakland-fy2023/submit", data=form)
    assert response.status_code == 303
    assert rows.submissions() == 1
