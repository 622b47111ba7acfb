"""Staff sign-in as an attacker and as staff would try it: sessions that end, CSRF, roles,
invitations, and an audit trail of it all (the sign-in throttle: test_sign_in_throttle)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from budget_sim import accounts
from budget_sim.storage import Database
from budget_sim.storage import staff as staff_db
from budget_sim.web import create_app

PASSWORD = "correct horse battery staple"


def make_staff(url: str, email: str, role: str = "admin", budgets=None) -> None:
    database = Database(url)
    with database.writing() as session:
        staff_db.create_staff(
            session,
            email=email,
            name=email.split("@")[0].title(),
            role=role,
            budgets=budgets,
            password_hash=accounts.hash_password(PASSWORD),
            now=datetime.now(UTC),
        )
    database.dispose()


def sql(url: str, statement: str, **params) -> list[tuple]:
    engine = create_engine(url)
    with engine.begin() as connection:
        result = connection.execute(text(statement), params)
        rows = [tuple(row) for row in result] if result.returns_rows else []
    engine.dispose()
    return rows


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def browser(app):
    """A browser on https (so the Secure cookie is kept), same-origin requests."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, email: str, password: str = PASSWORD):
    return client.post(
        "/staff/login", data={"email": email, "password": password, "next": "/staff"}
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_signed_out_browsers_reach_no_staff_page(browser):
    for path in ("/staff", "/staff/users", "/staff/audit"):
        response = browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/staff/login?next={path}"
        assert response.headers["cache-control"] == "no-store"
    assert browser.post("/staff/logout", data={"csrf": "x"}).status_code == 403
    assert browser.post("/staff/users/invite", data={"csrf": "x"}).status_code == 403


def test_sign_in_sets_a_host_only_strict_secure_cookie(browser, settings):
    make_staff(settings.database_url, "ada@city.gov")
    response = sign_in(browser, "ADA@city.gov ")
    assert response.status_code == 303 and response.headers["location"] == "/staff"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-budget-sim-staff=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()
    token = cookie.split(";")[0].split("=", 1)[1]
    stored = sql(settings.database_url, "SELECT token_hash FROM staff_sessions")
    assert stored == [(accounts.token_digest(token),)]  # only a digest is kept
    home = browser.get("/staff")
    assert home.status_code == 200 and "Cambridge FY2026 operating budget" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in home.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", accounts.IDLE_TIMEOUT), ("created_at", accounts.ABSOLUTE_TIMEOUT)],
)
def test_sessions_expire_when_idle_and_at_their_absolute_limit(browser, settings, column, age):
    make_staff(settings.database_url, "ada@city.gov")
    sign_in(browser, "ada@city.gov")
    assert browser.get("/staff").status_code == 200
    old = datetime.now(UTC) - age - timedelta(minutes=1)
    sql(settings.database_url, f"UPDATE staff_sessions SET {column} = :old", old=old)
    expired = browser.get("/staff")
    assert expired.status_code == 303 and expired.headers["location"].startswith("/staff/login")
    assert sql(
        settings.database_url, "SELECT count(*) FROM staff_sessions WHERE ended_at IS NULL"
    ) == [(0,)]


def test_state_changes_need_the_csrf_token_and_our_origin(browser, settings):
    make_staff(settings.database_url, "ada@city.gov")
    sign_in(browser, "ada@city.gov")
    csrf = csrf_of(browser.get("/staff/users").text)
    invite = {"email": "bo@city.gov", "name": "Bo", "role": "analyst"}
    assert browser.post("/staff/users/invite", data=invite).status_code == 403
    assert browser.post("/staff/users/invite", data={**invite, "csrf": "forged"}).status_code == 403
    cross_site = browser.post(
        "/staff/users/invite",
        data={**invite, "csrf": csrf},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross_site.status_code == 403
    assert "did not come from this site" in cross_site.text
    assert "Back to the staff workspace" in cross_site.text  # not the residents' way out
    assert cross_site.headers["cache-control"] == "no-store"
    assert sql(settings.database_url, "SELECT count(*) FROM staff_users") == [(1,)]
    ok = browser.post("/staff/users/invite", data={**invite, "csrf": csrf})
    assert ok.status_code == 200 and "bo@city.gov is invited" in ok.text


def test_analysts_cannot_reach_admin_pages(browser, settings):
    make_staff(settings.database_url, "an@city.gov", role="analyst", budgets=["oakland-fy2023"])
    sign_in(browser, "an@city.gov")
    home = browser.get("/staff")
    assert "Oakland FY2022-23" in home.text and "Cambridge FY2026" not in home.text
    assert "Staff accounts" not in home.text
    for path in ("/staff/users", "/staff/audit"):
        assert browser.get(path).status_code == 403
    csrf = csrf_of(home.text)
    invite = {"email": "x@city.gov", "name": "X", "role": "admin", "csrf": csrf}
    assert browser.post("/staff/users/invite", data=invite).status_code == 403


def test_an_invitation_sets_a_password_once(browser, settings, app):
    make_staff(settings.database_url, "ada@city.gov")
    sign_in(browser, "ada@city.gov")
    csrf = csrf_of(browser.get("/staff/users").text)
    page = browser.post(
        "/staff/users/invite",
        data={"email": "Bo@City.gov", "name": "Bo", "role": "analyst", "csrf": csrf},
    ).text
    link = re.search(r"https://testserver(/staff/invite/[A-Za-z0-9_-]+)", page).group(1)
    again = browser.post(
        "/staff/users/invite",
        data={"email": "bo@city.gov", "name": "Bo", "role": "analyst", "csrf": csrf},
    )
    assert again.status_code == 400 and "An account for bo@city.gov already exists." in again.text

    with TestClient(app, base_url="https://testserver", follow_redirects=False) as newcomer:
        assert "Welcome, Bo" in newcomer.get(link).text
        weak = newcomer.post(link, data={"password": "short", "confirm": "short"})
        assert weak.status_code == 400 and "at least 12 characters" in weak.text
        done = newcomer.post(link, data={"password": PASSWORD, "confirm": PASSWORD})
        assert done.status_code == 303
        assert newcomer.get(link).status_code == 404  # used up
        assert sign_in(newcomer, "bo@city.gov").status_code == 303


def test_disabling_an_account_ends_its_sessions(app, settings):
    make_staff(settings.database_url, "ada@city.gov")
    make_staff(settings.database_url, "bo@city.gov", role="analyst")
    with (
        TestClient(app, base_url="https://testserver", follow_redirects=False) as admin,
        TestClient(app, base_url="https://testserver", follow_redirects=False) as analyst,
    ):
        sign_in(admin, "ada@city.gov")
        sign_in(analyst, "bo@city.gov")
        assert analyst.get("/staff").status_code == 200
        users = admin.get("/staff/users").text
        bo_id = sql(
            settings.database_url, "SELECT id FROM staff_users WHERE email = 'bo@city.gov'"
        )[0][0]
        response = admin.post(
            f"/staff/users/{bo_id}/active", data={"csrf": csrf_of(users), "active": "0"}
        )
        assert response.status_code == 303
        assert analyst.get("/staff").status_code == 303  # signed out at once
        assert sign_in(analyst, "bo@city.gov").status_code == 401
        log = admin.get("/staff/audit").text
        assert "disabled staff" in log and "bo@city.gov" in log


def test_sign_out_ends_the_session_on_the_server(browser, settings):
    make_staff(settings.database_url, "ada@city.gov")
    response = sign_in(browser, "ada@city.gov")
    token = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    csrf = csrf_of(browser.get("/staff").text)
    out = browser.post("/staff/logout", data={"csrf": csrf})
    assert out.status_code == 303
    browser.cookies.set("__Host-budget-sim-staff", token)  # a stolen copy of the old cookie
    assert browser.get("/staff").status_code == 303


def test_open_redirects_are_refused(browser, settings):
    make_staff(settings.database_url, "ada@city.gov")
    for target in ("https://evil.example/", "//evil.example/staff", "/b/x"):
        response = browser.post(
            "/staff/login", data={"email": "ada@city.gov", "password": PASSWORD, "next": target}
        )
        assert response.headers["location"] == "/staff"
