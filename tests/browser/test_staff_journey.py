"""The staff workspace end to end (issue 4), in Chromium against one real server on a fresh
database: an admin created with `budget-sim create-staff` signs in, uploads a budget (six real
Cambridge lines with Cambridge's budget.toml, under a new slug) whose lines file has two
mistakes, sees both by row and column with nothing stored, fixes the file and publishes it.
Residents submit through the resident page, and `budget-sim demo` adds synthetic ones. The
admin invites an analyst, who sets a password from the invitation link, signs in, reads the
dashboard, filters by neighborhood and downloads CSV and XLSX. The analyst cannot open or use
an admin page; a signed-out browser gets no staff page, export or API route (every route under
/staff and /api of the app, so routes added later are covered too)."""

from __future__ import annotations

import csv
import io
import itertools
import re
import tomllib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
from playwright.sync_api import Browser, BrowserContext, Page, expect
from starlette.routing import BaseRoute, Mount, Route

from budget_sim import resources
from budget_sim.exports import FORMATS
from budget_sim.web import create_app
from tests.browser.conftest import (
    Server,
    create_staff,
    running_server,
    sign_in,
    upload_file,
)
from tests.browser.resident import Watched, watching

SOURCE = resources.budget_data() / "cambridge-fy2026"
SLUG = "cambridge-six-fy2026"
TITLE = "Cambridge FY2026: six programs"
# Four spending lines and two revenue lines of Cambridge's budget whose totals balance within
# its tolerance, so residents (and the demo generator) can submit the city's own plan.
LINE_IDS = (
    "public-works-snow-and-ice",
    "housing-administration",
    "community-development-zoning-and-development",
    "employee-benefits-pensions",
    "licenses-and-permits",
    "fines-and-forfeits",
)
BAD_AMOUNT = ("housing-administration", "amount", "1.2 million")
NO_PROGRAM = ("employee-benefits-pensions", "program", "")
DEMO_RESIDENTS = 200
NEIGHBORHOOD = "Which Cambridge neighborhood do you live in?"
DISTRICT = ("east-cambridge", "East Cambridge")
COMMENT = "Clear the side streets of snow sooner, please."

ADMIN = ("budget.office@cambridgema.gov", "the budget office opens in june")
ANALYST = ("analyst@cambridgema.gov", "numbers tell a story when asked")
# Server-side work (an upload check, the dashboard on 200+ submissions, an export) on a slow
# 2-core machine: more than the 5 s Playwright waits by default, never a fixed sleep.
SLOW = 20_000
SHOTS = Path("/tmp")

# Public pages under /staff: the sign-in form itself. Everything else needs a staff session.
PUBLIC_STAFF_ROUTES = {"staff_login", "staff_login_post"}
# A real value for each path parameter; a new parameter name makes the sweep fail until a
# value is added here (a made-up one could pass only because it matches nothing).
PATH_VALUES = {
    "slug": [SLUG],
    "fmt": list(FORMATS),
    "revision": ["1"],
    "user_id": ["1"],
    "token_id": ["1"],
    "token": ["an-invitation-nobody-was-sent"],
    "table": ["lines"],
    "chart": ["departments"],
    "receipt": ["no-such-receipt"],
    "key": ["no-such-key"],
    "rest": ["v1", f"v1/budgets/{SLUG}/no-such-thing", "v2/budgets"],  # the API's catch-all
}


def shipped_rows() -> tuple[list[str], list[dict[str, str]]]:
    with (SOURCE / "lines.csv").open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        rows = [row for row in reader if row["id"] in LINE_IDS]
        return list(reader.fieldnames or []), rows


HEADER, ROWS = shipped_rows()


def lines_csv(*changes: tuple[str, str, str]) -> bytes:
    """The six lines as Cambridge ships them, with (line id, column, new value) changes."""
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    for row in ROWS:
        for line_id, column, value in changes:
            if row["id"] == line_id:
                row = {**row, column: value}
        writer.writerow(row)
    return out.getvalue().encode()


def row_of(line_id: str) -> str:
    """The spreadsheet row of a line in the uploaded file (row 1 is the header)."""
    return str(2 + [row["id"] for row in ROWS].index(line_id))


def manifest() -> bytes:
    """Cambridge's budget.toml (rules, households, neighborhood questions) under a new slug."""
    text = (SOURCE / "budget.toml").read_text(encoding="utf-8")
    text, slugs = re.subn(r'^slug = ".*"$', f'slug = "{SLUG}"', text, flags=re.M)
    text, titles = re.subn(
        r'^en = "Cambridge FY2026 operating budget"$', f'en = "{TITLE}"', text, flags=re.M
    )
    # lines shown (and exported) as the file lists them, whatever order Cambridge ships with
    text, orders = re.subn(r"^order = .*$", 'order = "file"', text, flags=re.M)
    assert slugs == titles == orders == 1, "Cambridge's budget.toml changed: update manifest()"
    return text.encode()


def test_the_six_lines_balance():
    """The journey's premise: the city's own plan meets Cambridge's rule with these lines."""
    assert sorted(row["id"] for row in ROWS) == sorted(LINE_IDS)
    tolerance = tomllib.loads(manifest().decode())["rules"]["tolerance"]
    total = {"expense": 0, "revenue": 0}
    for row in ROWS:
        total[row["kind"]] += int(row["amount"])
    assert abs(total["revenue"] - total["expense"]) <= tolerance


def shot(page: Page, name: str) -> None:
    page.screenshot(path=SHOTS / f"journey-{name}.png", full_page=True)


def assert_healthy(watched: Watched) -> None:
    """Nothing the browser refused, no script error, no server error on any response."""
    assert watched.csp_violations() == [], watched.csp_violations()
    assert watched.errors == [], watched.errors
    failed = [f"{r.status} {r.url}" for r in watched.responses if r.status >= 500]
    assert failed == []


def test_staff_journey_from_upload_to_exports(browser: Browser, tmp_path: Path):
    with running_server(tmp_path) as server, watching(browser) as admin:
        create_staff(server, ADMIN[0], ADMIN[1], role="admin", name="Budget Office")
        admin_publishes_the_budget(server, admin)
        receipts = residents_submit(browser, server)
        out = server.cli("demo", SLUG, "--residents", str(DEMO_RESIDENTS), "--seed", "2026")
        assert f"Added {DEMO_RESIDENTS} synthetic submissions to {SLUG}" in out
        total = len(receipts) + DEMO_RESIDENTS
        assert server.submissions() == total

        link = admin_invites_the_analyst(server, admin.page)
        with watching(browser) as analyst:
            analyst_signs_up_and_reads_the_dashboard(server, analyst, link, receipts, total)
            analyst_cannot_use_admin_pages(server, analyst)
            assert_healthy(analyst)

        # The admin sees the analyst's downloads in the audit log; the invitation the analyst
        # tried to send was not made.
        page = admin.page
        page.goto(f"{server.url}/staff/audit")
        exports = page.get_by_role("row").filter(has_text="exported submissions")
        expect(exports).to_have_count(2)
        expect(exports.first).to_contain_text(ANALYST[0])
        expect(exports.first).to_contain_text(f"{SLUG} xlsx rows=")
        expect(exports.first).to_contain_text(f"synthetic=True segment=neighborhood:{DISTRICT[0]}")
        page.goto(f"{server.url}/staff/users")
        expect(page.get_by_role("cell", name="mallory@example.com")).to_have_count(0)
        assert_healthy(admin)

        signed_out_browser_gets_nothing(browser, server)


def admin_publishes_the_budget(server: Server, admin: Watched) -> None:
    page = admin.page
    page.goto(f"{server.url}/staff/budgets")
    expect(page).to_have_url(f"{server.url}/staff/login?next=/staff/budgets")
    sign_in(page, *ADMIN)
    expect(page.get_by_role("heading", name="Budget files", level=1)).to_be_visible()

    def choose_files(lines: bytes) -> None:
        page.get_by_label("Lines file (.csv or .xlsx)").set_input_files(
            upload_file(f"{SLUG}.csv", lines)
        )
        page.get_by_label("Or a budget.toml with every setting").set_input_files(
            upload_file("budget.toml", manifest(), "application/toml")
        )
        page.get_by_role("button", name="Check the upload").click()

    choose_files(lines_csv(BAD_AMOUNT, NO_PROGRAM))
    heading = page.get_by_role("heading", name="The upload has 2 problems")
    expect(heading).to_be_visible(timeout=SLOW)
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    rows = page.locator("table.upload-problems tbody tr")
    expect(rows).to_have_count(2)
    for row, (line_id, column, _) in zip(rows.all(), (BAD_AMOUNT, NO_PROGRAM), strict=True):
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(f"{SLUG}/lines.csv")
        expect(cells.nth(1)).to_have_text(row_of(line_id))
        expect(cells.nth(2)).to_have_text(column)
    expect(rows.nth(0).locator("td").nth(3)).to_contain_text("'1.2 million' is not a plain amount")
    expect(rows.nth(1).locator("td").nth(3)).to_contain_text("program is empty")
    shot(page, "01-upload-problems")

    # Nothing was stored: the budget is not in the list and residents find no page.
    other = admin.new_page()
    other.goto(f"{server.url}/staff/budgets")
    expect(other.get_by_role("heading", name="Budget files", level=1)).to_be_visible()
    expect(other.get_by_text(SLUG)).to_have_count(0)
    response = other.goto(f"{server.url}/b/{SLUG}")
    assert response is not None and response.status == 404
    expect(other.get_by_role("heading", name="Page not found")).to_be_visible()
    other.close()

    choose_files(lines_csv())
    expect(page.get_by_role("heading", name="No problems found")).to_be_visible(timeout=SLOW)
    departments = len({row["department"] for row in ROWS})
    expect(page.get_by_text(f"{len(ROWS)} lines in {departments} departments")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Revision 1 of {TITLE}")).to_be_visible()
    shot(page, "02-preview")
    page.get_by_role("button", name="Publish revision 1").click()
    expect(page.get_by_role("status")).to_contain_text("Published.", timeout=SLOW)
    page.get_by_role("link", name=f"/b/{SLUG}").first.click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.get_by_label(NEIGHBORHOOD)).to_be_visible()
    shot(page, "03-resident-page")


def residents_submit(browser: Browser, server: Server) -> dict[str, str]:
    """Two residents submit the city's plan through the resident page, one with their
    neighborhood and a comment, one with another neighborhood; receipt -> neighborhood id."""
    receipts = {}
    for district, comment in ((DISTRICT, COMMENT), (("cambridgeport", "Cambridgeport"), "")):
        with watching(browser) as resident:
            page = resident.page
            page.goto(f"{server.url}/b/{SLUG}")
            page.get_by_label(NEIGHBORHOOD).select_option(label=district[1])
            if comment:
                page.get_by_label("A comment on your budget for the city's budget staff").fill(
                    comment
                )
            page.get_by_role("button", name="Submit my budget").click()
            expect(page).to_have_url(
                re.compile(rf"/b/{SLUG}/r/[A-Za-z0-9_-]{{22,}}$"), timeout=SLOW
            )
            expect(page.get_by_role("status")).to_contain_text("your budget was received")
            receipts[page.url.rsplit("/", 1)[1]] = district[0]
            assert_healthy(resident)
    return receipts


def admin_invites_the_analyst(server: Server, page: Page) -> str:
    page.goto(f"{server.url}/staff/users")
    page.get_by_label("Email").fill(ANALYST[0])
    page.get_by_label("Name", exact=True).fill("Ana Lyst")
    page.get_by_label("analyst: read insights").check()
    page.get_by_label(TITLE).check()  # this budget only
    page.get_by_role("button", name="Create the invitation").click()
    invited = page.get_by_role("status")
    expect(invited).to_contain_text(f"{ANALYST[0]} is invited")
    link = invited.locator("code").inner_text()
    assert link.startswith(f"{server.url}/staff/invite/"), link
    row = page.get_by_role("row").filter(has_text=ANALYST[0])
    expect(row).to_contain_text("invited")
    expect(row).to_contain_text(SLUG)
    return link


def read_district_count(page: Page, label: str) -> int:
    """From the district table beside the chart, opened as a reader would open it."""
    caption = page.locator("caption", has_text=NEIGHBORHOOD)
    details = page.locator("details").filter(has=caption)
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    table = page.locator("table").filter(has=caption)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=label, exact=True))
    return int(row.locator("td").first.inner_text().replace(",", ""))


def analyst_signs_up_and_reads_the_dashboard(
    server: Server, analyst: Watched, link: str, receipts: dict[str, str], total: int
) -> None:
    page = analyst.page
    page.goto(link)
    expect(page.get_by_role("heading", name="Welcome, Ana Lyst")).to_be_visible()
    page.get_by_label("New password").fill(ANALYST[1])
    page.get_by_label("The same password again").fill(ANALYST[1])
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("status")).to_have_text("Your password is set. Sign in with it now.")
    sign_in(page, *ANALYST)
    expect(page.get_by_role("heading", name="Budgets", level=1)).to_be_visible()
    # Only the budget the analyst was given; no admin link in the navigation.
    budgets = page.locator("table tbody tr")
    expect(budgets).to_have_count(1)
    expect(budgets).to_contain_text(f"{total:,}")
    nav = page.get_by_role("navigation", name="Staff")
    for admin_link in ("Budget files", "Staff accounts", "Audit log"):
        expect(nav.get_by_role("link", name=admin_link)).to_have_count(0)

    page.get_by_role("link", name=TITLE, exact=True).click()
    lead = page.locator("p.lead")
    real = len(receipts)
    expect(lead).to_contain_text(f"{real} submissions; demo submissions excluded", timeout=SLOW)
    page.get_by_label("Include demo (synthetic) submissions").check()
    page.get_by_role("button", name="Apply").click()
    expect(lead).to_contain_text(f"{total:,} submissions.", timeout=SLOW)
    expect(page.get_by_text(f"“{COMMENT}”")).to_be_visible()
    shot(page, "04-dashboard")

    in_district = read_district_count(page, DISTRICT[1])
    assert 1 <= in_district < total
    page.get_by_label("Segment").select_option(label=DISTRICT[1])
    page.get_by_role("button", name="Apply").click()
    plural = "" if in_district == 1 else "s"
    expect(lead).to_contain_text(
        f"{in_district:,} submission{plural} in this segment (of {total:,})", timeout=SLOW
    )
    expect(page.get_by_label("Segment")).to_have_value(f"neighborhood:{DISTRICT[0]}")
    shot(page, "05-dashboard-district")

    line_ids = [row["id"] for row in ROWS]
    city = {row["id"]: Decimal(row["amount"]) for row in ROWS}

    with page.expect_download(timeout=SLOW) as download:
        lead.get_by_role("link", name="CSV", exact=True).click()
    # The downloads are of what the page shows: this neighborhood's submissions.
    segment_file = f"{SLUG}-submissions-with-demo-neighborhood-{DISTRICT[0]}"
    assert download.value.suggested_filename == f"{segment_file}.csv"
    with open(download.value.path(), newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        table = list(reader)
        header = reader.fieldnames or []
    assert len(table) == in_district
    assert [column for column in header if column in line_ids] == line_ids
    assert {row["answer.neighborhood"] for row in table} == {DISTRICT[0]}
    ours = {r for r, district in receipts.items() if district == DISTRICT[0]}
    assert ours  # one of the real residents lives there
    mine = {row["receipt"]: row for row in table if row["receipt"] in receipts}
    assert set(mine) == ours
    for row in mine.values():
        assert {line: Decimal(row[line]) for line in line_ids} == city
    assert sum(row["synthetic"] == "true" for row in table) == in_district - len(ours)

    with page.expect_download(timeout=SLOW) as download:
        lead.get_by_role("link", name="XLSX", exact=True).click()
    assert download.value.suggested_filename == f"{segment_file}.xlsx"
    sheet = pl.read_excel(download.value.path())
    assert sheet.height == in_district
    assert [column for column in sheet.columns if column in line_ids] == line_ids
    assert sheet.filter(pl.col("answer.neighborhood") == DISTRICT[0]).height == in_district
    for row in sheet.filter(pl.col("receipt").is_in(list(receipts))).iter_rows(named=True):
        assert {line: Decimal(str(row[line])) for line in line_ids} == city


ADMIN_PAGES = (
    "/staff/users",
    "/staff/audit",
    "/staff/budgets",
    f"/staff/budgets/{SLUG}/revise",
    f"/staff/budgets/{SLUG}/revisions/1",
)


def analyst_cannot_use_admin_pages(server: Server, analyst: Watched) -> None:
    page = analyst.page
    for path in ADMIN_PAGES:
        response = page.goto(server.url + path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(page.get_by_text("Your account cannot open this page.")).to_be_visible()
    shot(page, "06-analyst-not-allowed")
    # Even with the analyst's own valid CSRF token, every admin action is refused.
    page.goto(f"{server.url}/staff")
    csrf = page.locator("form.signout input[name=csrf]").get_attribute("value") or ""
    assert csrf
    invite = {"csrf": csrf, "email": "mallory@example.com", "name": "Mallory", "role": "admin"}
    actions = {
        "/staff/users/invite": invite,
        "/staff/users/1/active": {"csrf": csrf, "active": "0"},
        "/staff/budgets/upload": {"csrf": csrf, "base": SLUG},
        f"/staff/budgets/{SLUG}/revisions/1/publish": {"csrf": csrf},
    }
    for path, form in actions.items():
        response = analyst.context.request.post(server.url + path, form=form, max_redirects=0)
        assert response.status == 403, (path, response.status)
    # The analyst's budget list stays the only budget they see; another city's dashboard is hidden.
    response = page.goto(f"{server.url}/staff/b/cambridge-fy2026")
    assert response is not None and response.status == 404


def staff_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(name, path pattern, method) of every HTTP route of the app under /staff or /api."""
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path
            if route.routes:
                yield from staff_routes(route.routes, path)
            elif path.startswith(("/staff", "/api")):
                yield route.name or path, path + "/", "GET"  # a mounted app: probe its root
        elif isinstance(route, Route):
            path = prefix + route.path
            if path.startswith(("/staff", "/api")):
                for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                    yield route.name, path, method


def filled(pattern: str) -> list[str]:
    """The path with every parameter filled in with each of its real values."""
    names = re.findall(r"{(\w+)(?::\w+)?}", pattern)
    unknown = [name for name in names if name not in PATH_VALUES]
    assert not unknown, f"{pattern}: add real values for {unknown} to PATH_VALUES"
    paths = []
    for values in itertools.product(*(PATH_VALUES[name] for name in names)):
        path = pattern
        for value in values:
            path = re.sub(r"{\w+(?::\w+)?}", value, path, count=1)
        paths.append(path)
    return paths


def refused(context: BrowserContext, url: str, method: str) -> str | None:
    """None when the route sends a signed-out browser to the sign-in page or answers 401, 403
    or 404 (from the API: a JSON error); else what it did."""
    response = context.request.fetch(url, method=method, max_redirects=0)
    location = response.headers.get("location", "")
    if response.status in (302, 303, 307) and re.match(
        r"(/|https?://[^/]+/)staff/login\b", location
    ):
        return None
    if response.status in (401, 403, 404):
        if "json" not in response.headers.get("content-type", ""):
            return None
        if set(response.json()) == {"error"}:
            return None
    return f"{method} {url}: {response.status} {location or response.text()[:80]!r}"


def signed_out_browser_gets_nothing(browser: Browser, server: Server) -> None:
    routes = list(staff_routes(create_app().routes))
    patterns = {path for _, path, _ in routes}
    assert {"/staff", "/staff/users", "/staff/b/{slug}/submissions.{fmt}"} <= patterns
    with watching(browser) as stranger:
        problems = []
        for name, pattern, method in routes:
            for path in filled(pattern):
                if name in PUBLIC_STAFF_ROUTES:
                    continue
                problems.append(refused(stranger.context, server.url + path, method))
                if method == "GET" and path.startswith("/staff") and problems[-1] is None:
                    # What the person sees: the sign-in page or an error page, never the content.
                    stranger.page.goto(server.url + path)
                    expect(stranger.page.get_by_role("heading", level=1)).to_have_text(
                        re.compile("^(Staff sign-in|Not allowed|Page not found)$")
                    )
        assert [problem for problem in problems if problem] == []
        shot(stranger.page, "07-signed-out")
        assert_healthy(stranger)
