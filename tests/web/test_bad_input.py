"""Bad input gets a clear, specific 4xx message and stores nothing (reliability.md section 4.1)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from budget_sim.settings import Settings
from budget_sim.web import create_app
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, units


@pytest.fixture
def fresh(client):
    """A fresh ballot token for the Cambridge budget."""
    return ballot_of(client.get(f"/b/{SLUG}").text)


def field_error(html: str, line_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="e-{line_id}">.*?</span> (.*?)</p>', html, re.S)
    assert match, f"no error shown next to {line_id}"
    return match.group(1)


PLAIN_NUMBER = "must be an amount such as 17,000,000 or 17000000"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("NaN", PLAIN_NUMBER),
        ("nan", PLAIN_NUMBER),
        ("inf", PLAIN_NUMBER),
        ("-Infinity", "must not be negative"),
        ("1e309", PLAIN_NUMBER),
        ("-5", "must not be negative"),
        ("(5)", PLAIN_NUMBER),
        ("١٢", PLAIN_NUMBER),
        ("１２", PLAIN_NUMBER),
        ("1_000", PLAIN_NUMBER),
        ("1,00,000", PLAIN_NUMBER),  # grouped, but not in threes
        ("1.000,000", PLAIN_NUMBER),
        ("$", PLAIN_NUMBER),
        ("10.005", PLAIN_NUMBER),
        ("0x10", PLAIN_NUMBER),
        ("9" * 5000, "is too large for any line of a city budget"),
        ("", PLAIN_NUMBER),
    ],
)
def test_unreadable_amounts_are_422_with_the_reason(client, budget, rows, fresh, typed, message):
    line = adjustable_expense(budget)
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": fresh, f"line.{line['id']}": typed})
    assert response.status_code == 422
    assert message in field_error(response.text, line["id"]).replace("&#39;", "'")
    assert "Your budget was not sent yet" in response.text
    assert rows.submissions() == 0


def test_whitespace_around_an_amount_is_accepted(client, budget, rows, fresh):
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    typed = f"  {units(line['amount'] + line['step'])} "
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": fresh, f"line.{line['id']}": typed})
    assert response.status_code == 303
    assert rows.submissions() == 1


def test_above_the_line_maximum_names_the_limit(client, budget, rows, fresh):
    line = adjustable_expense(budget)
    too_much = line["max"] + line["step"]
    response = client.post(
        f"/b/{SLUG}/submit", data={"ballot": fresh, f"line.{line['id']}": units(too_much)}
    )
    assert response.status_code == 422
    assert "cannot go above $" in field_error(response.text, line["id"])
    assert rows.submissions() == 0


def test_unbalanced_budget_says_what_is_still_needed(client, budget, rows, fresh):
    line = adjustable_expense(budget)
    response = client.post(
        f"/b/{SLUG}/submit", data={"ballot": fresh, f"line.{line['id']}": units(line["max"])}
    )
    assert response.status_code == 422
    assert re.search(r"To submit, cut spending or raise revenue by \$[\d,]+ more\.", response.text)
    assert f'value="{units(line["max"])}"' in response.text  # the resident's choice is kept
    assert rows.submissions() == 0


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"line.no-such-line": "5"}, "line.no-such-line", "is not a line of this budget"),
        ({"role": "admin"}, "role", "is not a field of this form"),
        ({"budget_id": "other"}, "budget_id", "is not a field of this form"),
        ({"answer.favourite": "x"}, "answer.favourite", "is not a question of this budget"),
        ({"answer.neighborhood": "atlantis"}, "answer.neighborhood", "must be one of the listed"),
        ({"answer.neighborhood": "a\x00b"}, "answer.neighborhood", "must not contain control"),
    ],
)
def test_unknown_fields_and_bad_answers_are_422(client, rows, fresh, extra, field, message):
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": fresh, **extra})
    assert response.status_code == 422
    assert f"{field.removeprefix('line.')}: {message}" in response.text or message in response.text
    assert rows.submissions() == 0


@pytest.mark.parametrize("endpoint", ["", "/submit", "/draft"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("amounts=1", "amounts"),
        ("answers=1&answer.neighborhood=riverside", "answers"),
        ("comments=1&comment=hi", "comments"),
    ],
)
def test_a_field_named_like_a_group_of_fields_is_refused(
    client, rows, fresh, endpoint, body, field
):
    """The form gathers line.*, answer.* and comment* fields into groups of these names; a field
    sent under a group's own name is not a field of this form (it used to be a 500)."""
    response = client.post(
        f"/b/{SLUG}{endpoint}",
        content=f"ballot={fresh}&{body}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert "is not a field of this form" in response.text
    assert rows.submissions() == 0 and rows.drafts() == 0


def test_a_repeated_field_is_refused(client, budget, rows, fresh):
    line = adjustable_expense(budget)
    body = f"ballot={fresh}&line.{line['id']}=1&line.{line['id']}=999"
    response = client.post(
        f"/b/{SLUG}/submit",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert "was sent more than once" in response.text
    assert rows.submissions() == 0


@pytest.mark.parametrize(
    ("ballot", "headers"),
    [
        ("", {}),
        ("forged.token.value", {}),
        (None, {"sec-fetch-site": "cross-site"}),
        (None, {"origin": "https://evil.example"}),
    ],
)
def test_forged_missing_or_cross_site_ballots_are_403(client, rows, fresh, ballot, headers):
    form = {"ballot": fresh if ballot is None else ballot}
    response = client.post(f"/b/{SLUG}/submit", data=form, headers=headers)
    assert response.status_code == 403
    assert rows.submissions() == 0


def test_a_ballot_for_another_budget_is_403(client, rows):
    chicago = ballot_of(client.get("/b/chicago-fy2026").text)
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": chicago})
    assert response.status_code == 403
    assert "not issued by this site for this budget" in response.text
    assert rows.submissions() == 0


def test_an_expired_ballot_keeps_the_values_and_gives_a_new_token(settings, budget, rows):
    expired = Settings(**{**settings.model_dump(), "ballot_max_age_seconds": -1})
    with create_app_client(expired) as client:
        page = client.get(f"/b/{SLUG}").text
        line = adjustable_expense(budget, max_step=budget.rules.tolerance)
        chosen = units(line["amount"] + line["step"])
        response = client.post(
            f"/b/{SLUG}/submit", data={"ballot": ballot_of(page), f"line.{line['id']}": chosen}
        )
    assert response.status_code == 422
    assert "nothing was saved yet" in response.text
    assert f'value="{chosen}"' in response.text
    assert ballot_of(response.text) != ballot_of(page)
    assert rows.submissions() == 0


def create_app_client(settings):
    return TestClient(create_app(settings), follow_redirects=False)


def test_wrong_content_type_is_415(client, rows, fresh):
    response = client.post(f"/b/{SLUG}/submit", json={"ballot": fresh})
    assert response.status_code == 415
    assert "application/x-www-form-urlencoded" in response.text
    assert rows.submissions() == 0


def test_oversized_body_is_413(client, rows, fresh):
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": fresh, "website": "x" * 2_200_000})
    assert response.status_code == 413
    assert "more data than this site accepts" in response.text
    assert rows.submissions() == 0


def test_too_many_fields_is_400(client, rows, fresh):
    body = "&".join(f"f{i}=1" for i in range(1000))
    response = client.post(
        f"/b/{SLUG}/submit",
        content=f"ballot={fresh}&{body}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert rows.submissions() == 0


def test_filled_honeypot_is_400(client, rows, fresh):
    response = client.post(f"/b/{SLUG}/submit", data={"ballot": fresh, "website": "spam"})
    assert response.status_code == 400
    assert rows.submissions() == 0
