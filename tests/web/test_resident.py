"""The resident flow over HTTP: the simulator, live totals, submitting, the permalink."""

from __future__ import annotations

import re

from tests.web.conftest import SLUG, adjustable_expense, ballot_of, grouped, units


def test_home_lists_open_budgets_default_first(client):
    response = client.get("/")
    assert response.status_code == 200
    titles = re.findall(r'<a href="/b/([a-z0-9-]+)"', response.text)
    assert titles[0] == SLUG
    assert {"chicago-fy2026", "oakland-fy2023"} <= set(titles)


def test_simulator_shows_every_line_with_its_limits(client, budget):
    response = client.get(f"/b/{SLUG}")
    assert response.status_code == 200
    html = response.text
    assert f"<h1>{budget.title}</h1>" in html
    for line in budget.lines.filter(~budget.lines["locked"]).iter_rows(named=True):
        slider = re.search(rf'<input type="range"[^>]*id="s-{line["id"]}"[^>]*>', html, re.S)
        assert slider, line["id"]
        tag = slider.group(0)
        assert f'min="{units(line["min"])}"' in tag and f'max="{units(line["max"])}"' in tag
        assert f'step="{units(line["step"])}"' in tag
        assert f'aria-valuetext="${grouped(line["amount"])}"' in tag  # money, not bare digits
        field = re.search(rf'<input type="text"[^>]*id="n-{line["id"]}"[^>]*>', html, re.S)
        assert f'value="{grouped(line["amount"])}"' in field.group(0)  # grouped, as people read
        assert f'<label class="line-name" for="n-{line["id"]}">' in html
    for line in budget.lines.filter(budget.lines["locked"]).iter_rows(named=True):
        assert f'name="line.{line["id"]}"' not in html  # shown but not editable
    assert "Balanced: your budget meets the city's rule" in html


def test_live_recalculation_returns_only_the_summary(client, budget):
    line = adjustable_expense(budget)
    raised = line["amount"] + 3 * line["step"]
    page = client.get(f"/b/{SLUG}").text
    response = client.post(
        f"/b/{SLUG}",
        data={"ballot": ballot_of(page), f"line.{line['id']}": units(raised)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "<html" not in response.text and "<form" not in response.text
    assert "To submit, cut spending or raise revenue by" in response.text
    assert 'hx-swap-oob="true"' in response.text  # department subtotals follow along
    assert "HX-Request" in response.headers["vary"]  # and Accept-Encoding, for gzip


def test_update_totals_without_javascript_keeps_the_values(client, budget):
    line = adjustable_expense(budget)
    raised = line["amount"] + line["step"]
    page = client.get(f"/b/{SLUG}").text
    response = client.post(
        f"/b/{SLUG}", data={"ballot": ballot_of(page), f"line.{line['id']}": units(raised)}
    )
    assert response.status_code == 200
    assert "<html" in response.text
    assert f'value="{grouped(raised)}"' in response.text
    assert ballot_of(response.text) == ballot_of(page)


def test_submit_stores_then_redirects_to_the_permalink(client, budget, rows):
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    chosen = line["amount"] + line["step"]
    page = client.get(f"/b/{SLUG}").text
    form = {"ballot": ballot_of(page), f"line.{line['id']}": units(chosen)}
    response = client.post(f"/b/{SLUG}/submit", data=form)
    assert response.status_code == 303
    permalink = response.headers["location"]
    assert re.fullmatch(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}", permalink)  # a path: any proxy
    assert rows.submissions() == 1

    receipt = client.get(permalink)
    assert receipt.status_code == 200
    assert "your budget was received" in receipt.text
    program = re.escape(line["program"].replace("&", "&amp;"))
    assert re.search(rf"<th scope=\"row\">{program}</th>.*?\+\$[\d,]+", receipt.text, re.S)

    # A double click or a retried POST: the same receipt, still one row.
    again = client.post(f"/b/{SLUG}/submit", data=form)
    assert again.status_code == 303 and again.headers["location"] == permalink
    assert rows.submissions() == 1


def test_unknown_budget_and_receipt_are_404(client):
    assert client.get("/b/nowhere").status_code == 404
    missing = client.get(f"/b/{SLUG}/r/not-a-real-receipt")
    assert missing.status_code == 404
    assert "There is no submitted budget at this address." in missing.text
