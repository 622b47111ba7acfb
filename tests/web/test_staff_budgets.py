"""Budget administration as admins use it and as others would try it: upload a CSV with
problems (every one listed, nothing stored), fix, preview, publish; roles, CSRF, size caps;
open and close dates; revising a budget while earlier submissions stay as they were."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime

import pytest
from starlette.testclient import TestClient

from budget_sim.web import create_app
from tests.web.test_staff import csrf_of, make_staff, sign_in, sql

SLUG = "springfield-fy2027"
HEADER = "id,department,program,kind,amount\n"
GOOD_ROWS = [
    "police,Public Safety,Police,expense,1000000",  # row 2
    "fire,Public Safety,Fire,expense,800000",  # row 3
    "parks,Parks and Recreation,Parks,expense,300000",  # row 4
    "library,Libraries,Branches,expense,200000",  # row 5
    "property-tax,Taxes,Property tax,revenue,2300000",  # row 6
]
GOOD_CSV = (HEADER + "\n".join(GOOD_ROWS) + "\n").encode()
# Two mistakes people make: a thousands separator (row 3, amount), an unknown kind (row 5).
TWO_ERRORS_CSV = GOOD_CSV.replace(b"Fire,expense,800000", b'Fire,expense,"800,000"').replace(
    b"Branches,expense", b"Branches,spending"
)
FIELDS = {
    "slug": SLUG,
    "city": "Springfield, IL",
    "fiscal_year": "2027",
    "title_en": "Springfield FY2027 budget",
    "title_es": "Presupuesto de Springfield 2027",
    "intro_en": "Move the money where you think it should go.",
    "intro_es": "",
    "source": "Test figures, made up for this test.",
    "balance": "balanced",
    "tolerance": "5000",
    "min_change_percent": "-10",
    "max_change_percent": "10",
    "step_percent": "1",
    "households_count": "",
    "households_source": "",
    "embed_origins": "",
    "opens": "",
    "closes": "",
    "timezone": "UTC",
}


@pytest.fixture
def admin(settings):
    make_staff(settings.database_url, "ada@city.gov", role="admin")
    with TestClient(
        create_app(settings), base_url="https://testserver", follow_redirects=False
    ) as client:
        assert sign_in(client, "ada@city.gov").status_code == 303
        yield client


def _csrf(client: TestClient) -> str:
    return csrf_of(client.get("/staff/budgets").text)


def upload(client: TestClient, lines: bytes | None, name: str = "springfield.csv", **changes):
    data = {**FIELDS, **changes, "csrf": changes.get("csrf", _csrf(client))}
    files = {}
    if lines is not None:
        files["lines"] = (name, lines, "text/csv")
    if "manifest" in changes:
        files["manifest_file"] = ("budget.toml", data.pop("manifest"), "application/toml")
    return client.post("/staff/budgets/upload", data=data, files=files or None)


def problems_of(page: str) -> list[tuple[str, str, str, str]]:
    """(file, row, column, message) of every row of the problems table."""
    table = page[page.index('<table class="receipt-table upload-problems">') :]
    table = table[: table.index("</table>")]
    cells = re.findall(
        r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table
    )
    return [tuple(html.unescape(cell) for cell in row) for row in cells]


def packages(settings) -> list[tuple]:
    return sql(
        settings.database_url,
        "SELECT slug, revision, status FROM budget_packages ORDER BY slug, revision",
    )


def publish(client: TestClient, revision: int = 1, slug: str = SLUG):
    page = client.get(f"/staff/budgets/{slug}/revisions/{revision}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/staff/budgets/{slug}/revisions/{revision}/publish", data={"csrf": csrf_of(page.text)}
    )


def submit(client: TestClient, slug: str = SLUG, **amounts: str):
    page = client.get(f"/b/{slug}")
    ballot = re.search(r'name="ballot" value="([^"]+)"', page.text).group(1)
    form = {"ballot": ballot, **{f"line.{k}": v for k, v in amounts.items()}}
    return client.post(f"/b/{slug}/submit", data=form)


def test_two_errors_are_listed_nothing_is_stored_then_fixed_published_and_used(admin, settings):
    refused = upload(admin, TWO_ERRORS_CSV)
    assert refused.status_code == 422
    assert "The upload has 2 problems" in refused.text
    assert "Nothing was saved" in refused.text
    found = problems_of(refused.text)
    assert [(file, row, column) for file, row, column, _ in found] == [
        (
            f"{SLUG}/lines.csv",
            "3",
            "amount",
        ),
        (f"{SLUG}/lines.csv", "5", "kind"),
    ]
    assert "thousands separators" in found[0][3]
    assert "'spending' is not a kind: write expense or revenue" in found[1][3]
    assert packages(settings) == []  # nothing stored
    assert 'value="Springfield FY2027 budget"' in refused.text  # the form comes back filled in
    assert admin.get(f"/b/{SLUG}").status_code == 404

    stored = upload(admin, GOOD_CSV)
    assert stored.status_code == 303
    assert stored.headers["location"].endswith(f"/staff/budgets/{SLUG}/revisions/1")
    assert packages(settings) == [(SLUG, 1, "draft")]
    preview = admin.get(f"/staff/budgets/{SLUG}/revisions/1")
    assert preview.status_code == 200
    assert "No problems found" in preview.text
    assert "5 lines in 4 departments" in preview.text
    assert "the city&#39;s budget meets it" in preview.text
    assert re.search(
        r"Public Safety</th><td>expense</td><td class=\"num\">\$1,800,000", preview.text
    )
    assert "Publish revision 1" in preview.text
    assert admin.get(f"/b/{SLUG}").status_code == 404  # a draft is not served

    published = publish(admin)
    assert published.status_code == 303
    assert published.headers["location"] == f"/staff/budgets?published={SLUG}"
    assert packages(settings) == [(SLUG, 1, "published")]
    assert "<strong>Published.</strong>" in admin.get(published.headers["location"]).text
    odd = admin.get("/staff/budgets?published=a/b")  # a made-up address: no notice, no error
    assert odd.status_code == 200 and "<strong>Published.</strong>" not in odd.text
    resident = admin.get(f"/b/{SLUG}")
    assert resident.status_code == 200 and "Springfield FY2027 budget" in resident.text
    assert f"/b/{SLUG}" in admin.get("/").text
    assert "Presupuesto de Springfield 2027" in admin.get(f"/b/{SLUG}?lang=es").text

    sent = submit(admin, library="198000")
    assert sent.status_code == 303, sent.text
    receipt = admin.get(sent.headers["location"])
    assert receipt.status_code == 200 and "Branches" in receipt.text

    actions = [row[0] for row in sql(settings.database_url, "SELECT action FROM audit_log")]
    assert "uploaded budget revision" in actions and "published budget" in actions

    # A restarted app serves the published budget from the database.
    with TestClient(create_app(settings), follow_redirects=False) as restarted:
        assert restarted.get(f"/b/{SLUG}").status_code == 200
        assert restarted.get(sent.headers["location"]).status_code == 200


def test_the_same_upload_twice_is_one_revision(admin, settings):
    assert upload(admin, GOOD_CSV).status_code == 303
    again = upload(admin, GOOD_CSV)
    assert again.headers["location"].endswith("/revisions/1")
    assert packages(settings) == [(SLUG, 1, "draft")]


def test_form_problems_and_file_problems_are_listed_together(admin, settings):
    response = upload(
        admin,
        TWO_ERRORS_CSV,
        embed_origins="http://www.springfield.gov\nhttps://www.springfield.gov",
        opens="2027-03-31",
        closes="2027-03-01",
        timezone="Mars/Olympus",
        title_en="",
    )
    assert response.status_code == 422
    columns = [column for _, _, column, _ in problems_of(response.text)]
    for expected in ("embed_origins[0]", "title", "closes", "timezone", "amount", "kind"):
        assert expected in columns
    assert "closes (2027-03-01) is before opens (2027-03-31)" in response.text
    marked = re.findall(r'name="(\w+)"[^>]* aria-invalid=true', response.text)
    assert sorted(marked) == ["closes", "embed_origins", "timezone", "title_en"]
    assert packages(settings) == []


def test_a_new_budget_cannot_take_an_existing_slug_or_a_bad_file(admin, settings):
    taken = upload(admin, GOOD_CSV, slug="cambridge-fy2026")
    assert taken.status_code == 422
    assert "a budget with slug &#39;cambridge-fy2026&#39; already exists" in taken.text
    bad_slug = upload(admin, GOOD_CSV, slug="Spring Field!")
    assert bad_slug.status_code == 422 and "is not a valid id" in bad_slug.text
    wrong_type = upload(admin, b"PK\x03\x04", name="budget.xls")
    assert wrong_type.status_code == 422
    assert "must be a .csv file (CSV UTF-8) or an .xlsx workbook" in wrong_type.text
    no_file = upload(admin, None)
    assert no_file.status_code == 422 and "choose the lines file" in no_file.text
    assert packages(settings) == []


def test_a_budget_toml_can_replace_the_fields(admin, settings):
    manifest = f"""
slug = "{SLUG}"
city = "Springfield, IL"
fiscal_year = 2027
closes = 2027-06-30
timezone = "America/Chicago"

[title]
en = "Springfield from a file"

[source]
text = "Test figures."
""".encode()
    response = upload(admin, GOOD_CSV, manifest=manifest, title_en="ignored")
    assert response.status_code == 303
    preview = admin.get(response.headers["location"]).text
    assert "Springfield from a file" in preview
    assert "through 2027-06-30 (America/Chicago)" in preview


def test_upload_size_caps_apply_to_this_route_only(admin, settings):
    big = HEADER.encode() + b"x" * (5 * 1024 * 1024)
    too_big = upload(admin, big)
    assert too_big.status_code == 422
    assert "is larger than 5,120 KB" in too_big.text
    huge = upload(admin, big + b"x" * (1024 * 1024))
    assert huge.status_code == 413
    assert "at most 5.5 MB" in huge.text
    # Every other route keeps the small cap.
    invite = admin.post(
        "/staff/users/invite",
        data={"csrf": _csrf(admin), "name": "x" * (settings.max_body_bytes + 1024)},
    )
    assert invite.status_code == 413
    assert packages(settings) == []


def test_analysts_and_signed_out_browsers_cannot_reach_budget_files(admin, settings):
    assert upload(admin, GOOD_CSV).status_code == 303
    paths = ("/staff/budgets", f"/staff/budgets/{SLUG}/revisions/1", "/staff/budgets/x/revise")
    with TestClient(
        create_app(settings), base_url="https://testserver", follow_redirects=False
    ) as stranger:
        for path in paths:
            response = stranger.get(path)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/staff/login?next=")
        assert stranger.post("/staff/budgets/upload", data={"csrf": "x"}).status_code == 403
        publishing = stranger.post(f"/staff/budgets/{SLUG}/revisions/1/publish")
        assert publishing.status_code == 403

        make_staff(settings.database_url, "ann@city.gov", role="analyst")
        assert sign_in(stranger, "ann@city.gov").status_code == 303
        for path in paths:
            assert stranger.get(path).status_code == 403
        csrf = csrf_of(stranger.get("/staff").text)
        assert "Budget files" not in stranger.get("/staff").text
        refused = stranger.post(f"/staff/budgets/{SLUG}/revisions/1/publish", data={"csrf": csrf})
        assert refused.status_code == 403
        sent = stranger.post(
            "/staff/budgets/upload",
            data={**FIELDS, "csrf": csrf},
            files={"lines": ("s.csv", GOOD_CSV, "text/csv")},
        )
        assert sent.status_code == 403
    assert packages(settings) == [(SLUG, 1, "draft")]


def test_publishing_needs_the_csrf_token_and_our_origin(admin, settings):
    assert upload(admin, GOOD_CSV).status_code == 303
    url = f"/staff/budgets/{SLUG}/revisions/1/publish"
    assert admin.post(url).status_code == 403
    assert admin.post(url, data={"csrf": "forged"}).status_code == 403
    csrf = _csrf(admin)
    cross_site = admin.post(url, data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross_site.status_code == 403
    assert packages(settings) == [(SLUG, 1, "draft")]
    assert admin.get(f"/b/{SLUG}").status_code == 404
    assert publish(admin).status_code == 303


@pytest.mark.parametrize(
    ("opens", "closes", "message"),
    [
        ("2019-12-01", "2019-12-31", "the last day was December 31, 2019"),
        ("2999-01-01", "", "this budget takes submissions from January 1, 2999"),
    ],
)
def test_outside_its_dates_a_budget_refuses_submissions(admin, settings, opens, closes, message):
    assert upload(admin, GOOD_CSV, opens=opens, closes=closes).status_code == 303
    assert publish(admin).status_code == 303
    page = admin.get(f"/b/{SLUG}")
    assert page.status_code == 200  # residents may still look
    assert 'class="notice" role="alert"' in page.text
    assert f"/b/{SLUG}" not in admin.get("/").text  # the home page lists open budgets only
    refused = submit(admin)
    assert refused.status_code == 403
    text = html.unescape(refused.text)
    assert "Nothing was sent: " in text and message in text
    assert sql(settings.database_url, "SELECT count(*) FROM submissions") == [(0,)]
    spanish = admin.get(f"/b/{SLUG}?lang=es").text
    assert "Este presupuesto" in spanish or "Los envíos a este presupuesto" in spanish


def test_dates_are_days_in_the_budget_time_zone(admin, settings):
    assert (
        upload(
            admin, GOOD_CSV, opens="2027-03-01", closes="2027-03-31", timezone="America/New_York"
        ).status_code
        == 303
    )
    assert publish(admin).status_code == 303
    budget = admin.app_state["budgets"][SLUG]
    assert budget.opens_at == datetime(2027, 3, 1, 5, tzinfo=UTC)  # midnight in New York
    assert budget.closes_at == datetime(2027, 4, 1, 4, tzinfo=UTC)  # the end of March 31 (EDT)
    assert budget.is_open(datetime(2027, 4, 1, 3, 59, tzinfo=UTC))
    assert budget.window(datetime(2027, 4, 1, 4, tzinfo=UTC)) == "closed"
    assert budget.window(datetime(2027, 3, 1, 4, 59, tzinfo=UTC)) == "not_open_yet"
    assert str(date(2027, 3, 31)) in admin.get("/staff/budgets").text


def test_a_revision_keeps_earlier_submissions_as_they_were(admin, settings):
    assert upload(admin, GOOD_CSV).status_code == 303
    assert publish(admin).status_code == 303
    first = submit(admin, library="198000")
    assert first.status_code == 303
    first_receipt = first.headers["location"]

    form = admin.get(f"/staff/budgets/{SLUG}/revise")
    assert form.status_code == 200
    assert 'value="Presupuesto de Springfield 2027"' in form.text
    assert "Leave empty to keep the current lines (lines.csv)" in form.text
    # The library line is split in two with new ids; the Spanish title and allow-list change.
    revised_csv = GOOD_CSV.replace(
        b"library,Libraries,Branches,expense,200000",
        b"library-main,Libraries,Main library,expense,120000\n"
        b"library-branches,Libraries,Neighborhood branches,expense,80000",
    )
    revised = upload(
        admin,
        revised_csv,
        base=SLUG,
        title_es="Presupuesto de Springfield para 2027",
        embed_origins="https://www.springfield.gov",
        csrf=csrf_of(form.text),
    )
    assert revised.status_code == 303
    assert revised.headers["location"].endswith(f"/staff/budgets/{SLUG}/revisions/2")
    preview = admin.get(f"/staff/budgets/{SLUG}/revisions/2").text
    assert "Added (2): <code>library-main</code>, <code>library-branches</code>" in preview
    assert "Removed (1): <code>library</code>" in preview
    assert "1 submission was made to this budget already" in preview
    assert "Earlier submissions keep their own lines" in preview
    assert re.search(r"Title \(es\)</th><td>Presupuesto de Springfield 2027</td>", preview)
    assert "Embed allow-list</th><td>(none)</td><td>https://www.springfield.gov" in preview
    # Revision 1 stays served until revision 2 is published.
    assert "Branches" in admin.get(f"/b/{SLUG}").text
    assert publish(admin, 2).status_code == 303
    assert packages(settings) == [(SLUG, 1, "published"), (SLUG, 2, "published")]

    now_served = admin.get(f"/b/{SLUG}").text
    assert "Main library" in now_served and ">Branches<" not in now_served
    old = admin.get(first_receipt)
    assert old.status_code == 200
    assert '<th scope="row">Branches</th>' in old.text and "Main library" not in old.text
    assert "$198,000" in old.text
    second = submit(admin, **{"library-main": "118800"})
    assert second.status_code == 303, second.text
    assert "Main library" in admin.get(second.headers["location"]).text

    # An older draft cannot be published over a newer published revision.
    assert upload(admin, GOOD_CSV.replace(b"1000000", b"1010000"), base=SLUG).status_code == 303
    assert publish(admin, 3).status_code == 303
    page = admin.get(f"/staff/budgets/{SLUG}/revisions/2")
    assert "Publish revision" not in page.text

    with TestClient(create_app(settings), follow_redirects=False) as restarted:
        assert '<th scope="row">Branches</th>' in restarted.get(first_receipt).text


def test_texts_of_a_shipped_budget_change_in_a_revision_without_new_lines(admin, settings):
    slug = "cambridge-fy2026"
    before = submit(admin, slug=slug)
    assert before.status_code == 303
    form = admin.get(f"/staff/budgets/{slug}/revise")
    assert form.status_code == 200
    intro = "Una introducción nueva, escrita por el personal."
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input id="[^"]+" name="(\w+)" type="\w+"[^>]* value="([^"]*)"', form.text
        )
    }
    textareas = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<textarea id="[^"]+" name="(\w+)"[^>]*>(.*?)</textarea>', form.text, re.S
        )
    }
    data = {**fields, **textareas, "intro_es": intro, "balance": "balanced", "base": slug}
    response = admin.post(
        "/staff/budgets/upload",
        data={**data, "csrf": csrf_of(form.text)},
        files={"lines": ("", b"", "application/octet-stream")},  # no file chosen
    )
    assert response.status_code == 303, response.text
    preview = admin.get(response.headers["location"]).text
    assert "Introduction (es)" in preview and intro in preview
    assert "The lines are the same." in preview
    table = preview[preview.index("Settings and texts that change") :]
    changed = re.findall(r'<tr><th scope="row">([^<]+)</th><td>', table[: table.index("</table>")])
    assert changed == ["Introduction (es)"]  # nothing else: questions, population... are kept
    assert publish(admin, 1, slug=slug).status_code == 303
    assert intro in admin.get(f"/b/{slug}?lang=es").text
    assert admin.get(before.headers["location"]).status_code == 200
    listing = admin.get("/staff/budgets").text
    assert "uploaded, revision 1" in listing
