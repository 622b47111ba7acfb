"""Ids that cannot exist, as an attacker sends them: control characters in a path (a NUL was a
500 on PostgreSQL), numbers too large for any column or for `int()`, and control characters in
the form fields that reach a query. Each gets a 404 or its field's 4xx on both databases."""

from __future__ import annotations

from tests.web.conftest import SLUG, https
from tests.web.test_staff import csrf_of, sign_in, sql

CONTROLS = ["%00", "%01", "%1B", "%7F", "%C2%85"]  # NUL, SOH, ESC, DEL, NEL (a C1 control)


PATHS = [
    ("GET", f"/b/{SLUG}/r/ab{{c}}cd"),  # a receipt
    ("GET", f"/b/{SLUG}/d/abc{{c}}def"),  # a draft key
    ("GET", "/b/cambridge{c}-fy2026"),  # a slug
    ("POST", "/b/cambridge-fy2026{c}/submit"),
    ("POST", f"/b/{SLUG}/draft{{c}}"),
    ("GET", "/b/cambridge-fy2026{c}/results"),
    ("GET", "/staff/invite/tok{c}en"),  # an invitation token
    ("POST", "/staff/login{c}"),
    ("GET", "/static/app{c}.css"),
]


def test_a_control_character_in_a_path_is_404(client, rows):
    for method, path in PATHS:
        for control in CONTROLS:
            response = client.request(method, path.format(c=control))
            assert response.status_code == 404, (method, path, control)
            assert "There is nothing at this address." in response.text
            assert "content-security-policy" in response.headers
    assert rows.submissions() == 0 and rows.drafts() == 0


def test_a_control_character_in_an_api_path_is_a_json_404(admin):
    response = admin.get(f"/api/v1/budgets/{SLUG}%00/submissions")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["cache-control"] == "no-store"


HUGE = ["2147483648", "9223372036854775808", "9" * 5000, "0" * 5000 + "1"]


def test_numbers_too_large_for_any_row_are_404(admin):
    csrf = csrf_of(admin.get("/staff/users").text)
    for number in HUGE:
        revision = f"/staff/budgets/{SLUG}/revisions/{number}"
        assert admin.get(revision).status_code == 404
        assert admin.post(f"{revision}/publish", data={"csrf": csrf}).status_code == 404
        response = admin.post(f"/staff/users/{number}/active", data={"csrf": csrf, "active": "0"})
        assert response.status_code == 404
        assert admin.post(f"/staff/tokens/{number}/revoke", data={"csrf": csrf}).status_code == 404


def test_api_limits_that_are_not_plain_small_numbers_are_400(admin):
    for limit in ["0" * 5000 + "1", "9" * 5000, "١٢", "１２", "9223372036854775808"]:
        response = admin.get(f"/api/v1/budgets/{SLUG}/submissions", params={"limit": limit})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_limit"
    response = admin.get(f"/api/v1/budgets/{SLUG}/submissions", params={"after": "ab\x00cd"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_after"


def test_a_nul_in_the_sign_in_email_is_400_with_the_reason(client, settings):
    with https(client) as browser:
        response = sign_in(browser, "ghost\x00@city.gov")
    assert response.status_code == 400
    assert "holds no control characters" in response.text
    assert sql(settings.database_url, "SELECT count(*) FROM login_attempts") == [(0,)]


STAFF_FORMS = [
    (f"/staff/b/{SLUG}/set-aside", f"/staff/b/{SLUG}", {"receipt": "ab\x00cd"}),
    ("/staff/users/invite", "/staff/users", {"email": "bo@city.gov", "name": "B\x00o"}),
    ("/staff/users/invite", "/staff/users", {"email": "b\x1bo@city.gov", "name": "Bo"}),
    ("/staff/tokens", "/staff/tokens", {"name": "night\x00ly", "days": "90"}),
]


def test_a_control_character_in_a_staff_form_is_400_and_changes_nothing(admin, settings):
    before = sql(settings.database_url, "SELECT count(*) FROM audit_log")
    for path, page, form in STAFF_FORMS:
        csrf = csrf_of(admin.get(page).text)
        response = admin.post(path, data={"csrf": csrf, "role": "analyst", **form})
        assert response.status_code == 400, path
        assert "holds a control character" in response.text
        assert "Nothing was changed" in response.text
    assert sql(settings.database_url, "SELECT count(*) FROM staff_users") == [(1,)]
    assert sql(settings.database_url, "SELECT count(*) FROM api_tokens") == [(0,)]
    assert sql(settings.database_url, "SELECT count(*) FROM audit_log") == before
