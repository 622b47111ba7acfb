"""Exports staff download: right rows and columns, demo data only on request, and formulas that
come back inert in CSV and XLSX."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import polars as pl
import pytest
from starlette.testclient import TestClient

from budget_sim.storage import NewSubmission, save_many
from tests.web.conftest import SLUG, adjustable_expense, ballot_of, units
from tests.web.test_staff import make_staff, sign_in

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def staff_client(admin):
    """A signed-in admin's browser."""
    return admin


@pytest.fixture
def submitted(client, budget, settings):
    """One resident's budget (with a formula as comment) and three demo budgets."""
    line = adjustable_expense(budget, max_step=budget.rules.tolerance)
    page = client.get(f"/b/{SLUG}").text
    form = {
        "ballot": ballot_of(page),
        f"line.{line['id']}": units(line["amount"] + line["step"]),
        f"comment.{line['id']}": FORMULA,
        "comment": "+1 from me",
        "answer.age-band": "25-34",
    }
    assert client.post(f"/b/{SLUG}/submit", data=form).status_code == 303
    database = client.app_state["database"]
    amounts = dict(budget.lines.select("id", "amount").iter_rows())
    with database.writing() as session:
        save_many(
            session,
            [
                NewSubmission(SLUG, budget.version, budget.line_ids, f"demo{n}", amounts, {}, True)
                for n in range(3)
            ],
        )
    return line


def test_csv_has_one_row_per_submission_and_inert_formulas(staff_client, budget, submitted):
    response = staff_client.get(f"/staff/b/{SLUG}/submissions.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1  # demo submissions left out by default
    [row] = rows
    assert row[f"comment.{submitted['id']}"] == "'" + FORMULA
    assert row["comment"] == "'+1 from me"
    assert row["answer.age-band"] == "25-34"
    expected = (submitted["amount"] + submitted["step"]) / 100
    assert float(row[submitted["id"]]) == expected
    assert list(rows[0])[6 : 6 + len(budget.line_ids)] == budget.line_ids
    # a package on disk: no uploaded revision number, but the version it was made against
    assert (row["revision"], row["budget_version"]) == ("", budget.version)

    with_demo = staff_client.get(f"/staff/b/{SLUG}/submissions.csv?synthetic=1")
    assert with_demo.content.decode("utf-8-sig").count("\n") == 1 + 4


def test_xlsx_keeps_formulas_as_text(staff_client, submitted):
    response = staff_client.get(f"/staff/b/{SLUG}/submissions.xlsx")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula
    frame = pl.read_excel(io.BytesIO(response.content))
    assert frame[f"comment.{submitted['id']}"].to_list() == [FORMULA]


def test_parquet_keeps_exact_amounts(staff_client, budget, submitted):
    response = staff_client.get(f"/staff/b/{SLUG}/submissions.parquet?synthetic=1")
    frame = pl.read_parquet(io.BytesIO(response.content))
    assert frame.height == 4 and frame["synthetic"].sum() == 3
    assert frame.schema[submitted["id"]] == pl.Decimal(20, 2)
    resident = frame.filter(~pl.col("synthetic")).row(0, named=True)
    chosen = submitted["amount"] + submitted["step"]
    assert resident[submitted["id"]] == Decimal(chosen) / 100  # to the cent, no float
    others = [line for line in budget.line_ids if line != submitted["id"]]
    baseline = dict(budget.lines.select("id", "amount").iter_rows())
    assert all(resident[line] == Decimal(baseline[line]) / 100 for line in others)


def test_exports_need_a_signed_in_account_with_access(client, settings, submitted):
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as stranger:
        response = stranger.get(f"/staff/b/{SLUG}/submissions.csv")
        assert response.status_code == 303 and "/staff/login" in response.headers["location"]
    make_staff(settings.database_url, "an@city.gov", role="analyst", budgets=["oakland-fy2023"])
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as analyst:
        sign_in(analyst, "an@city.gov")
        assert analyst.get(f"/staff/b/{SLUG}/submissions.csv").status_code == 404
        assert analyst.get("/staff/b/oakland-fy2023/submissions.csv").status_code == 200
        assert analyst.get("/staff/b/oakland-fy2023/submissions.exe").status_code == 404


def test_exports_are_audited(staff_client, submitted):
    staff_client.get(f"/staff/b/{SLUG}/submissions.xlsx")
    log = staff_client.get("/staff/audit").text
    assert "exported submissions" in log and f"{SLUG} xlsx rows=1" in log


# --- API tokens, the busy gate and `budget-sim export` (issue 10, points 8 and 9) ---------------


def cli_token(settings, email: str = "ada@city.gov") -> str:
    from tests.test_cli import run

    result = run(settings, "create-token", email, "--name", "nightly export", "--days", "30")
    assert result.exit_code == 0, result.output
    assert "shown only now" in result.stderr
    return result.stdout.strip()


def test_every_export_accepts_an_api_token(client, settings, admin, submitted):
    token = cli_token(settings)
    assert token.startswith("bsk_")
    urls = [
        f"/staff/b/{SLUG}/submissions.parquet",
        f"/staff/b/{SLUG}/submissions.csv",
        f"/staff/b/{SLUG}/submissions.xlsx",
        f"/staff/b/{SLUG}/insights.xlsx",
        f"/staff/b/{SLUG}/insights/lines.parquet",
    ]
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as script:
        for url in urls:
            response = script.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, (url, response.text[:200])
            assert "attachment" in response.headers["content-disposition"]
        frame = pl.read_parquet(io.BytesIO(script.get(urls[0], headers=_bearer(token)).content))
        assert frame.height == 1
        wrong = script.get(urls[0], headers=_bearer("bsk_wrong"))
        assert wrong.status_code == 401 and "unknown, revoked or expired" in wrong.text
        assert script.get(urls[0]).status_code == 303  # no token, no session: sign in
    log = admin.get("/staff/audit").text
    assert "created API token (command line)" in log and "via=token" in log


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_second_xlsx_export_meanwhile_is_asked_to_try_again(staff_client, submitted):
    from budget_sim.web.staff.insight_exports import HEAVY_EXPORTS

    assert HEAVY_EXPORTS.acquire(blocking=False)  # another export is being written
    try:
        busy = staff_client.get(f"/staff/b/{SLUG}/submissions.xlsx")
        assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
        assert "try again" in busy.text.lower() and "CSV or Parquet" in busy.text
        assert staff_client.get(f"/staff/b/{SLUG}/submissions.csv").status_code == 200
    finally:
        HEAVY_EXPORTS.release()
    assert staff_client.get(f"/staff/b/{SLUG}/submissions.xlsx").status_code == 200


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_the_command_line_export_is_the_staff_download(
    staff_client, settings, submitted, tmp_path, fmt
):
    from tests.test_cli import run

    output = tmp_path / f"out.{fmt}"
    result = run(settings, "export", SLUG, "--format", fmt, "--output", str(output))
    assert result.exit_code == 0, result.output
    assert f"Wrote 1 submissions of {SLUG}" in result.stdout
    downloaded = staff_client.get(f"/staff/b/{SLUG}/submissions.{fmt}").content
    if fmt == "csv":
        assert output.read_bytes() == downloaded
    elif fmt == "parquet":
        assert pl.read_parquet(output).equals(pl.read_parquet(io.BytesIO(downloaded)))
    else:
        ours = pl.read_excel(output).drop("submitted_at")
        assert ours.equals(pl.read_excel(io.BytesIO(downloaded)).drop("submitted_at"))
        assert ours[f"comment.{submitted['id']}"].to_list() == [FORMULA]
    missing = run(settings, "export", SLUG, "--format", fmt, "--output", "/nowhere/x")
    assert missing.exit_code == 2 and "not a folder" in missing.stderr
