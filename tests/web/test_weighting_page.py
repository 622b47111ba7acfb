"""The dashboard raked to a budget's population tables (district and age band, from the test
package tests/packages/margins-test), with the design effect in plain words, and the false
discovery rate sentences of trade-offs and segment splits."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from budget_sim.storage import NewSubmission, save_many
from budget_sim.web import create_app
from tests.web.test_staff import make_staff, sign_in

PACKAGES = Path(__file__).resolve().parents[1] / "packages"
SLUG = "margins-test"


def test_raked_weights_show_n_eff_design_effect_and_sources(settings):
    local = settings.model_copy(update={"data_dir": PACKAGES, "default_budget": SLUG})
    with TestClient(
        create_app(local), base_url="https://testserver", follow_redirects=False
    ) as app:
        budget = app.app_state["budgets"][SLUG]
        amounts = dict(budget.lines.select("id", "amount").iter_rows())
        answers = [("north", "under-40")] * 30 + [("south", "under-40")] * 10
        answers += [("north", "40-plus")] * 10 + [("south", "40-plus")] * 10
        batch = [
            NewSubmission(
                SLUG,
                budget.version,
                budget.line_ids,
                f"m{i}",
                amounts,
                {"district": district, "age-band": age},
            )  # fmt: skip
            for i, (district, age) in enumerate(answers)
        ]
        with app.app_state["database"].writing() as session:
            save_many(session, batch)
        make_staff(local.database_url, "ada@city.gov")
        sign_in(app, "ada@city.gov")
        plain = app.get(f"/staff/b/{SLUG}").text
        assert '<option value="raked"' in plain
        assert "By population on Which district do you live in? and How old are you?" in plain
        assert "0 of 0 pairs of lines remain after controlling the false discovery rate" in plain

        html = app.get(f"/staff/b/{SLUG}?weights=raked&compare=age-band").text
        assert "raked to the population of 2 questions" in html
        assert "Weights are kept between 0.2 and 5 times the average" in html
        assert "Test figures, made up" in html  # the sources, as the package gives them
        # The raked weights: 0.349 (30 young northerners), 0.454 (10 young southerners), 1.954
        # and 2.546 (10 older each): north 10.46 + 19.54 = 30 = south 4.54 + 25.46, young 15 of
        # 60, older 45, with young/older 0.178 in both districts (tests/insights/
        # test_weighting.py checks raking by hand). n_eff = 60^2 / sum w^2 = 33.1, design effect
        # 1.81: intervals sqrt(1.81) - 1 = 35% wider.
        assert "Effective sample size (Kish): 33 of 60; design effect 1.81" in html
        assert "worth about 33 residents drawn at random" in html
        assert "about 35% wider than it would be unweighted" in html
        # Nobody moved a line: nothing to test in the comparison, and it says so.
        assert "0 of 0 differences between answers remain after controlling" in html
        assert app.get(f"/staff/b/{SLUG}?weights=bogus").status_code == 200  # page: ignored
        refused = app.get(f"/staff/b/{SLUG}/insights/lines.csv?weights=bogus")
        assert refused.status_code == 400 and "raked" in refused.text
