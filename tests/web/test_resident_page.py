"""Issue 11 over HTTP: amounts typed as people write them, an honest live status that names
and links each problem, flagged amounts not counted, each line's change in words and figures,
where the money goes (a named picture with a table), and the skip link."""

from __future__ import annotations

import html
import re

import polars as pl
import pytest

from tests.web.conftest import SLUG, ballot_of, grouped

MILLION = 1_000_000_00  # cents


def round_line(budget) -> tuple[dict, int]:
    """An adjustable expense line and a round million inside its range, off the slider's steps,
    whose change stays within the balance tolerance (so it can be submitted alone)."""
    lines = budget.lines.filter((pl.col("kind") == "expense") & ~pl.col("locked"))
    for line in lines.iter_rows(named=True):
        chosen = round(line["amount"] / MILLION) * MILLION
        off_step = (chosen - line["amount"]) % line["step"] != 0
        if (
            line["min"] <= chosen <= line["max"]
            and 0 < abs(chosen - line["amount"]) <= budget.rules.tolerance
            and off_step
        ):
            return line, chosen
    raise AssertionError("no line for this test")


def fragment(client, form: dict, line_id: str) -> str:
    headers = {"HX-Request": "true", "X-Budget-Line": line_id}
    response = client.post(f"/b/{SLUG}", data=form, headers=headers)
    assert response.status_code == 200
    return html.unescape(response.text)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_round_amount_typed_with_separators_is_submitted(client, budget, rows, lang):
    line, chosen = round_line(budget)
    whole = chosen // 100
    typed = {"en": f"${whole:,}", "es": f"{whole:,}".replace(",", ".")}[lang]  # "17.000.000"
    page = client.get(f"/b/{SLUG}?lang={lang}").text
    form = {"ballot": ballot_of(page), "lang": lang, f"line.{line['id']}": typed}
    response = client.post(f"/b/{SLUG}/submit", data=form)
    assert response.status_code == 303, re.findall(
        r'class="field-error"[^<]*<[^>]*>[^<]*', response.text
    )
    assert rows.submissions() == 1
    receipt = client.get(response.headers["location"]).text
    assert f"${whole:,}" in receipt


def test_the_status_never_says_submit_while_a_problem_stands(client, budget):
    line, _ = round_line(budget)
    page = client.get(f"/b/{SLUG}").text
    too_much = line["max"] + 50 * MILLION
    form = {"ballot": ballot_of(page), f"line.{line['id']}": f"{too_much // 100:,}"}
    text = fragment(client, form, line["id"])
    assert "You can submit" not in text and "Balanced" not in text
    assert "Problems to fix before you can submit: 1" in text
    # the problem names its line and links to its field
    link = re.search(rf'<a href="#n-{line["id"]}">([^<]+)</a>', text)
    assert link and line["program"] in link.group(1) and "cannot go above" in link.group(1)
    # flagged, not counted: the totals are the city's
    assert re.search(r"<dt>Spending</dt><dd>\$[\d,]+</dd>", text)  # no change shown
    assert "Not counted until fixed." in text
    # an amount nobody can read is named too, and the status still does not say "submit"
    form[f"line.{line['id']}"] = "17 million"
    text = fragment(client, form, line["id"])
    assert f"{line['department']}: {line['program']} must be an amount such as" in text
    assert "You can submit" not in text


def test_each_changed_line_shows_its_change_in_words_and_figures(client, budget):
    line, chosen = round_line(budget)
    page = client.get(f"/b/{SLUG}").text
    form = {"ballot": ballot_of(page), f"line.{line['id']}": f"{chosen // 100}"}
    text = fragment(client, form, line["id"])
    change = chosen - line["amount"]
    word = "Raised" if change > 0 else "Cut"
    percent = f"{change / line['amount'] * 100:+.1f}%"
    sign = "+" if change > 0 else "-"
    expected = f"{word} {percent}, {sign}${abs(change) // 100:,}."
    row = re.search(
        rf'<p class="range" id="r-{line["id"]}" hx-swap-oob="true">(.*?)</p>', text, re.S
    )
    assert row and expected in row.group(1)
    # moved back to the city's amount: the row is refreshed without a change
    form[f"line.{line['id']}"] = grouped(line["amount"])
    text = fragment(client, form, line["id"])
    row = re.search(
        rf'<p class="range" id="r-{line["id"]}" hx-swap-oob="true">(.*?)</p>', text, re.S
    )
    assert row and "Raised" not in row.group(1) and "Cut" not in row.group(1)


def test_where_the_money_goes_is_a_named_picture_with_a_table(client, budget):
    page = html.unescape(client.get(f"/b/{SLUG}").text)
    label = re.search(r'<div class="chart-rows" role="img" aria-label="([^"]+)"', page).group(1)
    assert label.startswith("Share of spending by department, the city's budget then yours:")
    largest = (
        budget.lines.filter(pl.col("kind") == "expense")
        .group_by("department")
        .agg(pl.col("amount").sum())
        .sort("amount", descending=True)
        .row(0)
    )
    assert label.split(": ", 1)[1].startswith(largest[0])
    table = re.search(r'<details class="chart-data">.*?</details>', page, re.S).group(0)
    assert f'<th scope="row">{largest[0]}</th>' in table
    # the fragment redraws it
    line, chosen = round_line(budget)
    form = {"ballot": ballot_of(page), f"line.{line['id']}": f"{chosen // 100}"}
    redrawn = fragment(client, form, line["id"])
    assert 'id="money-chart" hx-swap-oob="true"' in redrawn
    assert '<details class="chart-data">' in redrawn  # closed, as the resident left it
    headers = {"HX-Request": "true", "X-Budget-Line": line["id"], "X-Chart-Table": "open"}
    kept = html.unescape(client.post(f"/b/{SLUG}", data=form, headers=headers).text)
    assert '<details class="chart-data" open>' in kept  # opened: redrawn still open
    assert f'<th scope="row">{largest[0]}</th>' in kept


def test_skip_link_sliders_and_departments_for_assistive_technology(client, budget):
    page = client.get(f"/b/{SLUG}").text
    assert '<a class="skip-link" href="#summary-title">Skip to your totals and Submit</a>' in page
    assert '<h2 id="summary-title" tabindex="-1">' in page
    assert re.search(r'<summary>\s*<h3 class="dept-name">', page)  # departments are headings
    assert re.search(r'<div id="balance-status" role="status">', page)  # polite
    assert "Spending $" in re.search(r'id="balance-status".*?</div>', page, re.S).group(0)
