"""The upload preview refuses a budget no resident can submit (with the numbers), and accepts
one that starts out of balance when a resident can balance it."""

from __future__ import annotations

from tests.web.test_staff_budgets import (  # noqa: F401 (admin is a fixture)
    GOOD_CSV,
    SLUG,
    admin,
    packages,
    problems_of,
    publish,
    submit,
    upload,
)

# Revenue $78 above spending; with 1% steps (10,000, 8,000, 3,000, 2,000, 23,000) every change
# is a multiple of $1,000, so with tolerance 0 the balance can be $78 or -$922, never $0.
OFF_GRID_CSV = GOOD_CSV.replace(b"revenue,2300000", b"revenue,2300078")
# $1,000 surplus, on the grid: parks up a step ($3,000) and the library down one ($2,000).
ON_GRID_CSV = GOOD_CSV.replace(b"revenue,2300000", b"revenue,2301000")


def test_an_unreachable_rule_is_refused_with_its_numbers(admin, settings):  # noqa: F811
    refused = upload(admin, OFF_GRID_CSV, tolerance="0")
    assert refused.status_code == 422
    assert "The upload has 1 problem" in refused.text and "Nothing was saved" in refused.text
    [(file, row, column, message)] = problems_of(refused.text)
    assert (file, row, column) == (f"{SLUG}/budget.toml", "—", "rules.tolerance")
    assert "no resident can submit" in message
    assert "the city's figures stand at $78" in message
    assert "multiples of $1,000" in message and "-$922 or $78" in message
    assert "rules.tolerance to at least $78" in message
    assert packages(settings) == []
    assert 'name="tolerance"' in refused.text and "aria-invalid" in refused.text

    accepted = upload(admin, OFF_GRID_CSV, tolerance="78")  # what the message asks for
    assert accepted.status_code == 303, problems_of(accepted.text)


def test_a_reachable_budget_out_of_balance_at_the_start_is_published_and_submitted(
    admin,  # noqa: F811
    settings,
):
    stored = upload(admin, ON_GRID_CSV, tolerance="0")
    assert stored.status_code == 303, problems_of(stored.text)
    assert publish(admin).status_code == 303
    assert packages(settings) == [(SLUG, 1, "published")]
    sent = submit(admin, parks="303000", library="198000")
    assert sent.status_code == 303, sent.text
