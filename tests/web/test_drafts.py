"""Drafts as an abuser and as a resident would meet their limits: what cannot be read is not
silently dropped, quotas per page and per address, a size cap, expiry and purge."""

from __future__ import annotations

import pytest

from tests.web.conftest import SLUG, adjustable_expense, ballot_of


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("line", "NaN", "must be a plain number"),
        ("comment", "a\x00b", "must not contain control characters"),
        ("comment", "x" * 501, "is too long: at most 500 characters"),
    ],
)
def test_a_draft_with_unreadable_values_saves_nothing_and_says_so(
    client, budget, rows, field, typed, message
):
    line = adjustable_expense(budget)
    form = {"ballot": ballot_of(client.get(f"/b/{SLUG}").text), f"{field}.{line['id']}": typed}
    kept = {"comment": "what I wrote", "answer.age-band": "35-44"}
    response = client.post(f"/b/{SLUG}/draft", data={**form, **kept})
    assert response.status_code == 422
    assert "Nothing was saved" in response.text and message in response.text
    assert "what I wrote</textarea>" in response.text  # the rest of the page is kept
    assert rows.drafts() == 0
