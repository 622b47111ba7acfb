"""The JSON API as a script and an attacker would use it: staff only (session cookie from this
site, or a personal token that stops working when revoked, expired or its account disabled),
paging that returns every submission exactly once, JSON errors, nothing cached, no CORS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from budget_sim.insights import report
from tests.web.conftest import SLUG, https
from tests.web.test_insight_exports import expected, seed
from tests.web.test_staff import csrf_of, make_staff, sign_in, sql

ROUTES = [
    "/api/v1/budgets",
    f"/api/v1/budgets/{SLUG}/submissions",
    f"/api/v1/budgets/{SLUG}/insights",
    f"/api/v1/budgets/{SLUG}/insights/lines",
]


@pytest.fixture
def residents(client, budget):
    seed(
        client,
        budget,
        [
            {"steps": n % 4, "answers": {"age-band": "25-34" if n % 2 else "65-plus"}}
            for n in range(25)
        ]
        + [{"synthetic": True}] * 3,
    )


def make_token(browser: TestClient, name: str = "nightly report", days: str = "90") -> str:
    page = browser.get("/staff/tokens")
    assert page.status_code == 200
    response = browser.post(
        "/staff/tokens", data={"csrf": csrf_of(page.text), "name": name, "days": days}
    )
    assert response.status_code == 200, response.text
    return re.search(r"<code class=\"draft-link\">(bsk_[^<]+)</code>", response.text).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_signed_out_gets_401_json_on_every_route(client, residents):
    with https(client) as stranger:
        for path in ROUTES:
            response = stranger.get(path)
            assert_error(response, 401, "not_authenticated")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "access-control-allow-origin" not in response.headers
        assert_error(stranger.get(ROUTES[0], headers=bearer("bsk_nope")), 401, "invalid_token")
        bad = stranger.get(ROUTES[0], headers={"Authorization": "Basic YWRhOng="})
        assert_error(bad, 401, "bad_authorization")


def test_the_session_cookie_works_same_origin_only(admin, residents):
    response = admin.get("/api/v1/budgets")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers
    assert "content-encoding" not in response.headers  # never compressed (BREACH)
    budgets = {b["slug"]: b for b in response.json()["budgets"]}
    assert budgets[SLUG]["submissions"] == 25 and budgets[SLUG]["demo_submissions"] == 3
    assert budgets[SLUG]["results_public"] is False
    cross = admin.get("/api/v1/budgets", headers={"Sec-Fetch-Site": "cross-site"})
    assert_error(cross, 403, "cross_origin")


def test_paging_returns_every_submission_exactly_once(admin, client, budget, residents):
    seen, url, pages = [], f"/api/v1/budgets/{SLUG}/submissions?limit=7", 0
    while url:
        body = admin.get(url).json()
        assert body["total"] in (25, 26) and body["count"] <= 7
        seen += body["submissions"]
        url, pages = body["next_url"], pages + 1
        if pages == 2:  # a resident submits while the script pages: it comes at the end
            seed(client, budget, [{"steps": 1}])
    receipts = [s["receipt"] for s in seen]
    assert len(receipts) == len(set(receipts)) == 26 and pages == 4
    stored = {
        r for (r,) in sql(admin_url(client), "SELECT receipt FROM submissions WHERE NOT synthetic")
    }
    assert set(receipts) == stored
    city = dict(budget.lines.select("id", "amount").iter_rows())
    first = seen[0]
    assert set(first["amounts_cents"]) == set(budget.line_ids)
    assert all(isinstance(v, int) for v in first["amounts_cents"].values())
    assert first["amounts_cents"][budget.line_ids[-1]] == city[budget.line_ids[-1]]
    assert first["answers"] in ({"age-band": "65-plus"}, {"age-band": "25-34"})
    assert not any(s["synthetic"] for s in seen)
    with_demo = admin.get(f"/api/v1/budgets/{SLUG}/submissions?limit=1000&synthetic=1").json()
    assert with_demo["count"] == 29 and with_demo["next"] is None


def admin_url(client) -> str:
    return str(client.app_state["database"].url)


@pytest.mark.parametrize(
    ("query", "code", "says"),
    [
        ("?limit=0", "bad_limit", "limit must be a whole number from 1 to 1000"),
        ("?limit=1001", "bad_limit", "1000"),
        ("?limit=ten", "bad_limit", "limit"),
        ("?synthetic=yes", "bad_synthetic", "synthetic must be 1 or 0"),
        ("?after=not-a-receipt", "bad_after", "after must be the `next` value"),
    ],
)
def test_bad_paging_parameters_get_a_clear_400(admin, residents, query, code, says):
    response = admin.get(f"/api/v1/budgets/{SLUG}/submissions{query}")
    assert says in assert_error(response, 400, code)["message"]


def test_insight_tables_as_json_under_filters(admin, client, budget, residents):
    listing = admin.get(f"/api/v1/budgets/{SLUG}/insights?segment=age-band:25-34").json()
    names = [t["name"] for t in listing["tables"]]
    built = expected(client, budget, report.Filters(segment=("age-band", "25-34")))
    assert names == list(built.tables) and listing["submissions"] == 12
    lines = next(t for t in listing["tables"] if t["name"] == "lines")
    assert lines["url"].endswith("/insights/lines?segment=age-band:25-34")
    assert "mean_amount" in lines["columns"]

    body = admin.get(lines["url"]).json()
    assert body["filters"]["segment"] == ["age-band", "25-34"]
    types = {c["name"]: c["type"] for c in body["columns"]}
    assert types["city_amount"] == "decimal" and types["share_raised"] == "number"
    frame = built.tables["lines"]
    for row, want in zip(body["rows"], frame.iter_rows(named=True), strict=True):
        assert row["line_id"] == want["line_id"] and row["submissions"] == 12
        assert Decimal(row["mean_amount"]) == Decimal(round(want["mean"])) / 100
        assert row["share_raised"] == pytest.approx(want["raised"])

    whole = admin.get(f"/api/v1/budgets/{SLUG}/insights/whole-budget").json()
    im = expected(client, budget).tables["whole-budget"]["independent_markets"].to_list()
    got = [Decimal(r["independent_markets_amount"]) for r in whole["rows"]]
    assert got == [Decimal(round(x)) / 100 for x in im]

    assert_error(admin.get(f"/api/v1/budgets/{SLUG}/insights/nope"), 404, "not_found")
    bad = admin.get(f"/api/v1/budgets/{SLUG}/insights?segment=age-band:7")
    assert "segment" in assert_error(bad, 400, "bad_filter")["message"]


def test_unknown_paths_and_methods_are_json(admin):
    assert_error(admin.get("/api/v1/nothing-here"), 404, "not_found")
    assert_error(admin.get("/api/v1/budgets/no-such/submissions"), 404, "not_found")
    response = admin.post("/api/v1/budgets")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_tokens_work_and_stop_when_revoked(admin, client, settings, residents):
    token = make_token(admin)
    stored = sql(settings.database_url, "SELECT token_hash FROM api_tokens")
    assert len(stored) == 1 and token not in stored[0][0] and len(stored[0][0]) == 64
    with https(client) as script:  # no cookie at all
        response = script.get(f"/api/v1/budgets/{SLUG}/submissions", headers=bearer(token))
        assert response.status_code == 200 and response.json()["total"] == 25
        page = admin.get("/staff/tokens")
        assert "nightly report" in page.text and token not in page.text  # shown once only
        token_id = sql(settings.database_url, "SELECT id FROM api_tokens")[0][0]
        revoke = admin.post(f"/staff/tokens/{token_id}/revoke", data={"csrf": csrf_of(page.text)})
        assert revoke.status_code == 303
        response = script.get("/api/v1/budgets", headers=bearer(token))
        assert_error(response, 401, "invalid_token")
    log = admin.get("/staff/audit").text
    assert "created API token" in log and "revoked API token" in log
    assert "api read submissions" in log and "via=token" in log


def test_an_admin_sees_and_revokes_other_staffs_tokens(admin, client, settings, residents):
    """Only admins see other accounts' working tokens; revoking one stops it at once and is
    audited with its owner. An analyst can neither see nor revoke anyone else's."""
    make_staff(settings.database_url, "an@city.gov", role="analyst")
    with https(client) as analyst, https(client) as script:
        sign_in(analyst, "an@city.gov")
        theirs = make_token(analyst, "analyst notebook")
        mine = make_token(admin, "admin report")
        ids = dict(sql(settings.database_url, "SELECT name, id FROM api_tokens"))

        own_page = analyst.get("/staff/tokens").text
        assert "Other staff's working tokens" not in own_page and "admin report" not in own_page
        refused = analyst.post(
            f"/staff/tokens/{ids['admin report']}/revoke",
            data={"csrf": csrf_of(own_page)},
        )
        assert refused.status_code == 404
        assert script.get("/api/v1/budgets", headers=bearer(mine)).status_code == 200

        page = admin.get("/staff/tokens").text
        assert "Other staff's working tokens" in page
        assert "analyst notebook" in page and "(an@city.gov)" in page
        revoke = admin.post(
            f"/staff/tokens/{ids['analyst notebook']}/revoke", data={"csrf": csrf_of(page)}
        )
        assert revoke.status_code == 303
        assert_error(script.get("/api/v1/budgets", headers=bearer(theirs)), 401, "invalid_token")
        assert "No other account has a working token." in admin.get("/staff/tokens").text
    analyst_id = sql(
        settings.database_url, "SELECT id FROM staff_users WHERE email = 'an@city.gov'"
    )
    assert f"of user {analyst_id[0][0]}" in admin.get("/staff/audit").text


def test_tokens_stop_when_the_account_is_disabled_or_they_expire(client, settings, residents):
    make_staff(settings.database_url, "boss@city.gov")
    make_staff(settings.database_url, "an@city.gov", role="analyst", budgets=["oakland-fy2023"])
    with https(client) as analyst, https(client) as boss, https(client) as script:
        sign_in(analyst, "an@city.gov")
        token = make_token(analyst)
        listing = script.get("/api/v1/budgets", headers=bearer(token)).json()
        assert [b["slug"] for b in listing["budgets"]] == ["oakland-fy2023"]
        for path in ROUTES[1:]:  # another budget: as if it did not exist
            assert_error(script.get(path, headers=bearer(token)), 404, "not_found")

        sign_in(boss, "boss@city.gov")
        users = boss.get("/staff/users").text
        user_id = sql(
            settings.database_url, "SELECT id FROM staff_users WHERE email = 'an@city.gov'"
        )
        disable = boss.post(
            f"/staff/users/{user_id[0][0]}/active", data={"csrf": csrf_of(users), "active": "0"}
        )
        assert disable.status_code == 303
        assert_error(script.get("/api/v1/budgets", headers=bearer(token)), 401, "invalid_token")

        second = make_token(boss, "expiring")
        assert script.get("/api/v1/budgets", headers=bearer(second)).status_code == 200
        past = datetime.now(UTC) - timedelta(minutes=1)
        sql(
            settings.database_url,
            "UPDATE api_tokens SET expires_at = :t WHERE name = 'expiring'",
            t=past,
        )
        assert_error(script.get("/api/v1/budgets", headers=bearer(second)), 401, "invalid_token")
        assert "expired" in boss.get("/staff/tokens").text


def test_token_form_refuses_bad_input_and_needs_csrf(admin):
    page = admin.get("/staff/tokens").text
    csrf = csrf_of(page)
    response = admin.post("/staff/tokens", data={"csrf": csrf, "name": "", "days": "90"})
    assert response.status_code == 400 and "Name the token" in response.text
    response = admin.post("/staff/tokens", data={"csrf": csrf, "name": "x", "days": "9999"})
    assert response.status_code == 400 and "Choose how long it works" in response.text
    assert (
        admin.post("/staff/tokens", data={"csrf": "forged", "name": "x", "days": "90"}).status_code
        == 403
    )
    assert admin.post("/staff/tokens/999/revoke", data={"csrf": csrf}).status_code == 404
    for n in range(10):
        make_token(admin, f"t{n}")
    response = admin.post("/staff/tokens", data={"csrf": csrf, "name": "one more", "days": "30"})
    assert response.status_code == 400 and "already have 10 working tokens" in response.text
