"""What an account may reach, as an admin grants it: an analyst gets the budgets ticked and no
others (none ticked: none), and a disabled account's API tokens stay dead when it comes back."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.web.conftest import SLUG, https
from tests.web.test_api import bearer, make_token
from tests.web.test_staff import PASSWORD, csrf_of, make_staff, sign_in, sql


def invite(admin: TestClient, email: str, budgets: list[str], says: str = "") -> str:
    """Invite an analyst with these budget boxes ticked; the invitation link's path."""
    page = admin.get("/staff/users").text
    form = {"csrf": csrf_of(page), "email": email, "name": "Ana", "role": "analyst"}
    response = admin.post("/staff/users/invite", data={**form, "budgets": budgets})
    assert response.status_code == 200 and says in response.text
    return re.search(r"https://testserver(/staff/invite/[A-Za-z0-9_-]+)", response.text).group(1)


def accept(browser: TestClient, link: str, email: str) -> None:
    """Set a password through the invitation and sign in with it."""
    assert browser.post(link, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 303
    assert sign_in(browser, email).status_code == 303


def test_an_analyst_invited_with_no_budget_ticked_sees_no_budget(admin, client):
    link = invite(admin, "ana@city.gov", [], says="to see no budget (none was ticked)")
    users = admin.get("/staff/users").text
    row = re.search(r"<td>ana@city.gov</td><td>analyst</td>\s*<td>([^<]*)</td>", users)
    assert row.group(1) == "none"
    with https(client) as analyst:
        accept(analyst, link, "ana@city.gov")
        home = analyst.get("/staff").text
        assert "Cambridge FY2026" not in home and "Oakland" not in home
        assert analyst.get(f"/staff/b/{SLUG}").status_code == 404
        assert analyst.get("/api/v1/budgets").json()["budgets"] == []


def test_an_analyst_gets_exactly_the_budgets_ticked_or_all(admin, client, budget):
    link = invite(admin, "one@city.gov", ["oakland-fy2023"])
    with https(client) as analyst:
        accept(analyst, link, "one@city.gov")
        slugs = [b["slug"] for b in analyst.get("/api/v1/budgets").json()["budgets"]]
        assert slugs == ["oakland-fy2023"]
        assert analyst.get(f"/staff/b/{SLUG}").status_code == 404
    link = invite(admin, "all@city.gov", ["*"], says="to see every budget")
    with https(client) as analyst:
        accept(analyst, link, "all@city.gov")
        slugs = [b["slug"] for b in analyst.get("/api/v1/budgets").json()["budgets"]]
        assert SLUG in slugs and "oakland-fy2023" in slugs
        assert analyst.get(f"/staff/b/{SLUG}").status_code == 200


def test_a_disabled_accounts_tokens_stay_revoked_when_it_is_enabled_again(client, settings):
    make_staff(settings.database_url, "boss@city.gov")
    make_staff(settings.database_url, "an@city.gov", role="analyst", budgets=[SLUG])
    with https(client) as analyst, https(client) as boss, https(client) as script:
        sign_in(analyst, "an@city.gov")
        token = make_token(analyst)
        assert script.get("/api/v1/budgets", headers=bearer(token)).status_code == 200
        sign_in(boss, "boss@city.gov")
        (user_id,) = sql(settings.database_url, "SELECT id FROM staff_users WHERE role = 'analyst'")
        for active in ("0", "1"):
            csrf = csrf_of(boss.get("/staff/users").text)
            change = boss.post(
                f"/staff/users/{user_id[0]}/active", data={"csrf": csrf, "active": active}
            )
            assert change.status_code == 303
        assert script.get("/api/v1/budgets", headers=bearer(token)).status_code == 401
        assert "(1 API tokens revoked)" in boss.get("/staff/audit").text
        sign_in(analyst, "an@city.gov")  # the account itself works again, with a new token
        assert ">revoked<" in analyst.get("/staff/tokens").text
        fresh = make_token(analyst, "after the break")
        assert script.get("/api/v1/budgets", headers=bearer(fresh)).status_code == 200
