"""Managing staff accounts without a developer (admin): an expired invitation sent again (the
old link dead), a one-time password reset link (expires, works once, audited, the colleague
signed out), role and budgets edited (audited, never the last admin), and `create-staff`
refusing unknown budget slugs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from tests.test_cli import one_line_error, run
from tests.web.conftest import https
from tests.web.test_staff import PASSWORD, csrf_of, make_staff, sign_in, sql
from tests.web.test_staff_access import invite

NEW_PASSWORD = "another long staff password"
LINK = r"https://testserver(/staff/invite/[A-Za-z0-9_-]+)"


def user_id(settings, email: str) -> int:
    return sql(settings.database_url, "SELECT id FROM staff_users WHERE email = :e", e=email)[0][0]


def post(admin: TestClient, path: str, **data):
    csrf = csrf_of(admin.get("/staff/users").text)
    return admin.post(path, data={"csrf": csrf, **data})


def audit_actions(settings) -> list[tuple[str, str]]:
    return sql(settings.database_url, "SELECT action, detail FROM audit_log ORDER BY id")


def expire_links(settings) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    sql(settings.database_url, "UPDATE staff_users SET invite_expires_at = :p", p=past)


def test_an_expired_invitation_is_sent_again_and_the_old_link_is_dead(admin, client, settings):
    old = invite(admin, "ana@city.gov", ["*"])
    expire_links(settings)
    assert admin.get(old).status_code == 404
    users = admin.get("/staff/users").text
    assert "invitation expired" in users and "Send a new invitation" in users
    again = invite_again = post(admin, f"/staff/users/{user_id(settings, 'ana@city.gov')}/resend")
    assert again.status_code == 200
    assert "ana@city.gov is invited again" in invite_again.text
    new = re.search(LINK, again.text).group(1)
    assert new != old
    # re-inviting only makes the new link live: the earlier one stays dead
    sql(
        settings.database_url,
        "UPDATE staff_users SET invite_expires_at = :f",
        f=datetime.now(UTC) + timedelta(days=1),
    )
    assert admin.get(old).status_code == 404
    with https(client) as ana:
        assert ana.post(new, data={"password": PASSWORD, "confirm": PASSWORD}).status_code == 303
        assert sign_in(ana, "ana@city.gov").status_code == 303
        assert ana.get(new).status_code == 404  # used once
    assert ("re-sent invitation", "ana@city.gov") in audit_actions(settings)
    # an account with a password is reset, not invited again
    refused = post(admin, f"/staff/users/{user_id(settings, 'ana@city.gov')}/resend")
    assert refused.status_code == 400 and "reset it instead" in refused.text


def test_an_admin_resets_a_colleagues_password_with_a_one_time_link(admin, client, settings):
    make_staff(settings.database_url, "bo@city.gov", role="analyst", budgets=["oakland-fy2023"])
    with https(client) as bo:
        assert sign_in(bo, "bo@city.gov").status_code == 303
        assert bo.get("/staff").status_code == 200
        bo_id = user_id(settings, "bo@city.gov")
        reset = post(admin, f"/staff/users/{bo_id}/reset")
        assert reset.status_code == 200
        assert "bo@city.gov's password is reset" in reset.text and "24 hours" in reset.text
        link = re.search(LINK, reset.text).group(1)
        assert bo.get("/staff").status_code == 303  # signed out at once
        assert sign_in(bo, "bo@city.gov").status_code == 401  # the old password is gone
        page = bo.get(link)
        assert page.status_code == 200 and "Choose a new password" in page.text
        saved = bo.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert saved.status_code == 303
        assert bo.get(link).status_code == 404  # single use
        assert sign_in(bo, "bo@city.gov", NEW_PASSWORD).status_code == 303
    actions = audit_actions(settings)
    assert ("reset staff password", "bo@city.gov (password cleared, sessions ended)") in actions
    assert "set a new password (reset link)" in [action for action, _ in actions]
    # a reset link expires
    link = re.search(LINK, post(admin, f"/staff/users/{bo_id}/reset").text).group(1)
    expire_links(settings)
    assert client.get(link).status_code == 404
    assert "reset link expired" in admin.get("/staff/users").text
    # never one's own, never for someone else's session, only admins
    me = user_id(settings, "ada@city.gov")
    assert post(admin, f"/staff/users/{me}/reset").status_code == 400
    assert post(admin, "/staff/users/99999/reset").status_code == 404


def test_an_admin_edits_role_and_budgets_but_never_removes_the_last_admin(admin, client, settings):
    make_staff(settings.database_url, "bo@city.gov", role="analyst", budgets=["oakland-fy2023"])
    bo_id, me = user_id(settings, "bo@city.gov"), user_id(settings, "ada@city.gov")
    page = admin.get(f"/staff/users/{bo_id}")
    assert page.status_code == 200 and 'value="oakland-fy2023" checked' in page.text
    changed = post(admin, f"/staff/users/{bo_id}", role="analyst", budgets=["cambridge-fy2026"])
    assert changed.status_code == 303
    stored = sql(
        settings.database_url, "SELECT role, budgets FROM staff_users WHERE id = :i", i=bo_id
    )
    assert stored == [("analyst", '["cambridge-fy2026"]')]
    with https(client) as bo:
        sign_in(bo, "bo@city.gov")
        home = bo.get("/staff").text
        assert "Cambridge FY2026" in home and "Oakland" not in home
        assert bo.get(f"/staff/users/{bo_id}").status_code == 403  # not an admin
        # made an admin: at once, on the next page
        assert post(admin, f"/staff/users/{bo_id}", role="admin").status_code == 303
        assert bo.get("/staff/users").status_code == 200
    unknown = post(admin, f"/staff/users/{bo_id}", role="analyst", budgets=["nowhere"])
    assert unknown.status_code == 400 and "Unknown budget(s): nowhere" in unknown.text
    # two admins: Ada may step down; then Bo is the last and cannot
    assert post(admin, f"/staff/users/{me}", role="analyst", budgets=["*"]).status_code == 303
    with https(client) as bo:
        sign_in(bo, "bo@city.gov")
        last = post(bo, f"/staff/users/{bo_id}", role="analyst", budgets=["*"])
        assert last.status_code == 409
        assert "only active admin" in last.text and "Nothing was changed" in last.text
    roles = sql(settings.database_url, "SELECT email, role FROM staff_users ORDER BY email")
    assert roles == [("ada@city.gov", "analyst"), ("bo@city.gov", "admin")]
    edits = [json.loads(d) for a, d in audit_actions(settings) if a == "changed staff access"]
    assert edits[0] == {
        "email": "bo@city.gov",
        "before": {"role": "analyst", "budgets": ["oakland-fy2023"]},
        "after": {"role": "analyst", "budgets": ["cambridge-fy2026"]},
    }
    assert len(edits) == 3  # the refused change is not recorded


def test_create_staff_refuses_an_unknown_budget_slug(settings):
    args = ("create-staff", "an@city.gov", "--role", "analyst", "--password-stdin")
    line = one_line_error(run(settings, *args, "--budget", "cambridge-fy2062", stdin=PASSWORD))
    assert "no budget 'cambridge-fy2062' (--budget)" in line and "cambridge-fy2026" in line
    assert "nothing was created" in line
    assert sql(settings.database_url, "SELECT count(*) FROM staff_users") == [(0,)]
    ok = run(settings, *args, "--budget", "cambridge-fy2026", stdin=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
