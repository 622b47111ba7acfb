"""Nothing a resident typed is lost, Spanish on every budget and its error pages, and a receipt
that shows the budget only. Each test goes through HTTP against a real app and database."""

from __future__ import annotations

import html
import re

from tests.web.conftest import SLUG, ballot_of, units
from tests.web.test_resident_features import balanced_pair, stored

# 500 characters as a browser counts them (a line break is one), 510 as sent (CR LF)
MULTI_LINE = "\n".join(["Más para esto, por favor" + "." * 26] * 10)[:500]


def form_with(client, budget, **extra: str) -> tuple[dict, dict]:
    line, chosen = balanced_pair(budget)
    page = client.get(f"/b/{SLUG}").text
    return {"ballot": ballot_of(page), f"line.{line['id']}": units(chosen), **extra}, line


def test_a_comment_with_line_breaks_counts_as_the_browser_counts(client, budget, settings):
    assert len(MULTI_LINE) == 500 and MULTI_LINE.count("\n") == 9
    form, line = form_with(client, budget)
    sent = MULTI_LINE.replace("\n", "\r\n")  # what the browser sends
    response = client.post(f"/b/{SLUG}/submit", data={**form, f"comment.{line['id']}": sent})
    assert response.status_code == 303
    assert stored(settings.database_url, "SELECT text FROM comments") == [(MULTI_LINE,)]


def test_an_over_long_comment_comes_back_with_everything_typed(client, budget, rows):
    form, line = form_with(client, budget, comment="市" * 2001)  # about 18 KB urlencoded
    form["lang"] = "es"
    form[f"comment.{line['id']}"] = "Mi comentario"
    response = client.post(f"/b/{SLUG}/submit", data=form)
    assert response.status_code == 422 and '<html lang="es">' in response.text
    assert "市" * 2001 + "</textarea>" in response.text  # the box is not emptied
    assert "Mi comentario</textarea>" in response.text
    assert f'value="{form["line." + line["id"]]}"' in response.text  # nor is the amount
    assert "Su comentario sobre todo el presupuesto" in html.unescape(response.text)
    assert rows.submissions() == 0


def test_a_long_comment_in_a_three_byte_script_is_accepted(client, budget, settings):
    form, _ = form_with(client, budget, comment="市" * 2000)
    assert client.post(f"/b/{SLUG}/submit", data=form).status_code == 303
    assert stored(settings.database_url, "SELECT text FROM comments") == [("市" * 2000,)]


def test_a_body_over_the_cap_gets_a_page_in_the_residents_language(client, rows):
    response = client.post(
        f"/b/{SLUG}/submit",
        content=b"website=" + b"x" * 2_200_000,
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept-language": "es-US,es;q=0.9,en;q=0.5",
        },
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    text = html.unescape(response.text)
    assert '<html lang="es">' in text and "Demasiados datos" in text
    assert "su navegador aún conserva lo que escribió" in text
    assert rows.submissions() == 0


def test_switching_language_keeps_the_plan(client, budget):
    form, line = form_with(client, budget, comment="Keep this, please.")
    page = client.post(f"/b/{SLUG}", data={**form, "to_lang": "es"})
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert f'value="{form["line." + line["id"]]}"' in page.text
    assert "Keep this, please.</textarea>" in page.text
    assert 'name="lang" value="es"' in page.text  # the page then carries on in Spanish
    english = client.get(f"/b/{SLUG}?lang=es").text
    assert 'name="to_lang" value="en"' in english and 'form="simulator"' in english


def test_chicago_and_oakland_in_spanish_say_the_names_are_translated(client):
    for slug, name in (
        ("chicago-fy2026", "Departamento de Policía de Chicago"),
        ("oakland-fy2023", "Policía"),
    ):
        spanish = html.unescape(client.get(f"/b/{slug}?lang=es").text)
        assert '<html lang="es">' in spanish and name in spanish
        assert "Nombres traducidos; los nombres oficiales de la ciudad están en inglés." in spanish
        english = client.get(f"/b/{slug}").text
        assert "Nombres traducidos" not in english and "Español" in english
    oakland = client.get("/b/oakland-fy2023").text
    assert ">Office of OPR Director<" in oakland  # the code stays in the id only
    assert not re.search(r">[^<]*\b501110 - ", oakland)


def test_error_pages_in_spanish(client):
    cases = {
        "/b/no-such-budget?lang=es": (404, "No hay ningún presupuesto en esta dirección."),
        "/nothing-here?lang=es": (404, "Página no encontrada"),
        f"/b/{SLUG}/r/{'x' * 22}?lang=es": (404, "Página no encontrada"),
    }
    for url, (status, words) in cases.items():
        response = client.get(url)
        assert response.status_code == status, url
        text = html.unescape(response.text)
        assert '<html lang="es">' in text and words in text, url
        assert "Ver los presupuestos abiertos" in text
    forged = client.post(
        f"/b/{SLUG}/submit",
        data={"ballot": "forged", "lang": "es"},
        headers={"origin": "http://testserver"},
    )
    assert forged.status_code == 403
    assert "Este sitio no emitió este formulario para este presupuesto." in html.unescape(
        forged.text
    )
    by_header = client.get("/nothing-here", headers={"accept-language": "es;q=0.8, fr"})
    assert '<html lang="es">' in by_header.text
    assert (
        '<html lang="en">'
        in client.get("/nothing-here", headers={"accept-language": "es;q=0"}).text
    )


def test_the_receipt_shows_the_budget_only_and_is_not_indexed(client, budget):
    question = budget.questions[0]
    form, line = form_with(
        client,
        budget,
        comment="A private thought",
        **{f"answer.{question.id}": question.options[0].id},
    )
    form[f"comment.{line['id']}"] = "Another private thought"
    location = client.post(f"/b/{SLUG}/submit", data=form).headers["location"]
    response = client.get(location)
    receipt = html.unescape(response.text)
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in receipt
    assert "private thought" not in receipt and question.options[0].label not in receipt
    assert "your answers and comments went to the city's budget staff" in receipt
    biggest = receipt.index("What you changed most")
    assert biggest < receipt.index('class="receipt-table"')
    assert re.search(r"Lines you changed: 1\.", receipt)
    assert line["program"] in receipt[biggest : receipt.index('class="receipt-table"')]


def test_the_form_links_to_the_privacy_page_which_says_who_sees_what(client):
    page = client.get(f"/b/{SLUG}?lang=es").text
    assert 'href="/privacy?lang=es"' in page
    privacy = html.unescape(client.get("/privacy?lang=es").text)
    for words in ("Por qué", "Quién ve qué", "no sus respuestas ni sus comentarios"):
        assert words in privacy
