"""Packages that are not folders (uploads, stored revisions): the same checks and messages as
`budget-sim check`; budget.toml written from the settings form; open and close dates."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from budget_sim import resources
from budget_sim.data import (
    check_package,
    compose_manifest,
    dump_toml,
    load_package,
    manifest_fields,
    package_digest,
    package_files,
    read_package_files,
)
from tests.test_data import MANIFEST, write_package

CAMBRIDGE = resources.budget_data() / "cambridge-fy2026"
BAD_LINES = (
    "id,department,program,kind,amount\n"
    "parks,Parks,Maintenance,expense,1000\n"
    'police,Police,Patrol,expense,"2,000"\n'
    "taxes,Taxes,Property,income,3000\n"
)


def test_files_get_exactly_the_problems_a_folder_gets(tmp_path: Path):
    folder = write_package(tmp_path, BAD_LINES)
    from_folder = check_package(folder)
    assert len(from_folder) == 2
    _, from_files = read_package_files("demo", MANIFEST.encode(), "lines.csv", BAD_LINES.encode())
    assert from_files == from_folder
    assert [(p.file, p.row, p.column) for p in from_files] == [
        ("demo/lines.csv", 3, "amount"),
        ("demo/lines.csv", 4, "kind"),
    ]


def test_files_load_the_same_budget_as_the_folder():
    manifest, lines_name, lines = package_files(CAMBRIDGE)
    assert lines_name == "lines.csv"
    budget, problems = read_package_files("cambridge-fy2026", manifest, lines_name, lines)
    assert problems == [] and budget is not None
    on_disk = load_package(CAMBRIDGE)
    assert budget.version == on_disk.version == package_digest(manifest, lines)[:16]
    assert budget.lines.equals(on_disk.lines)


@pytest.mark.parametrize("slug", ["../etc", "Demo", ""])
def test_files_never_name_a_folder_outside_their_scratch_space(slug):
    with pytest.raises(ValueError):
        read_package_files(slug, b"", "lines.csv", b"")
    with pytest.raises(ValueError):
        read_package_files("demo", b"", "../lines.csv", b"")


def test_toml_written_for_the_form_reads_back_the_same():
    data = tomllib.loads((CAMBRIDGE / "budget.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(dump_toml(data)) == data
    tricky = {"text": 'quote " backslash \\ tab \t newline \n del \x7f é', "day": date(2027, 3, 1)}
    assert tomllib.loads(dump_toml(tricky)) == tricky


def test_the_form_round_trips_a_manifest_and_keeps_what_it_does_not_show():
    base = (CAMBRIDGE / "budget.toml").read_bytes()
    fields = manifest_fields(base)
    assert fields["title_es"].startswith("Presupuesto operativo")
    assert tomllib.loads(compose_manifest(fields, base).decode()) == tomllib.loads(base.decode())
    changed = tomllib.loads(
        compose_manifest({**fields, "intro_es": "", "opens": "2026-03-01"}, base).decode()
    )
    assert "es" not in changed["intro"] and changed["intro"]["en"]
    assert changed["opens"] == date(2026, 3, 1)
    assert changed["questions"] and changed["population"]  # not on the form: kept


def test_empty_fields_leave_keys_out_so_the_check_names_them():
    manifest = compose_manifest({"slug": "demo", "fiscal_year": "20x6", "tolerance": "1,000"})
    lines = BAD_LINES.replace('"2,000"', "2000").replace("income", "revenue").encode()
    _, problems = read_package_files("demo", manifest, "lines.csv", lines)
    assert {(p.column, p.message) for p in problems} >= {
        ("city", "required key 'city' is missing"),
        ("title", "required key 'title' is missing"),
        ("source", "required key 'source' is missing"),
        ("fiscal_year", "Input should be a valid integer (found '20x6')"),
    }
    assert any(p.column == "rules.tolerance" and "thousands" in p.message for p in problems)


def dated(tmp_path: Path, extra: str) -> list:
    return check_package(write_package(tmp_path, manifest=extra + MANIFEST))


def test_open_and_close_dates_are_checked(tmp_path: Path):
    assert dated(tmp_path, 'opens = 2026-03-01\ncloses = "2026-03-31"\n') == []
    problems = dated(tmp_path, "opens = 2026-03-31\ncloses = 2026-03-01\n")
    assert [(p.column, p.message) for p in problems] == [
        (
            "closes",
            "closes (2026-03-01) is before opens (2026-03-31): the last day must be on or after "
            "the first",
        )
    ]
    assert (
        "write a date without a time" in dated(tmp_path, "opens = 2026-03-01T09:00:00\n")[0].message
    )
    assert "is not a date" in dated(tmp_path, 'opens = "March 1"\n')[0].message
    assert "unknown time zone" in dated(tmp_path, 'timezone = "Mars/Olympus"\n')[0].message
    assert "unknown time zone" in dated(tmp_path, 'timezone = "../../etc/passwd"\n')[0].message


def test_a_budget_is_open_from_the_first_moment_of_opens_to_the_last_of_closes(tmp_path: Path):
    folder = write_package(
        tmp_path,
        manifest='opens = 2026-03-01\ncloses = 2026-03-31\ntimezone = "America/Chicago"\n'
        + MANIFEST,
    )
    budget = load_package(folder)
    assert budget.opens_at == datetime(2026, 3, 1, 6, tzinfo=UTC)  # CST
    assert budget.closes_at == datetime(2026, 4, 1, 5, tzinfo=UTC)  # CDT after March 8
    assert budget.window(datetime(2026, 3, 1, 5, 59, tzinfo=UTC)) == "not_open_yet"
    assert budget.window(datetime(2026, 3, 1, 6, tzinfo=UTC)) == "open"
    assert budget.window(datetime(2026, 4, 1, 4, 59, tzinfo=UTC)) == "open"
    assert budget.window(datetime(2026, 4, 1, 5, tzinfo=UTC)) == "closed"
    always = load_package(write_package(tmp_path / "x"))
    assert always.opens_at is None and always.is_open(datetime(1999, 1, 1, tzinfo=UTC))
