"""The upload form's mapping step: a city's own export goes in as it is, the columns are named
in the form, the preview shows what was detected and every line, and it publishes."""

from __future__ import annotations

import html

from tests.test_import import GERMAN_ROWS, german_cents, german_export, socrata_export
from tests.web import test_staff_budgets
from tests.web.test_staff_budgets import packages, problems_of, publish, upload

admin = test_staff_budgets.admin  # the signed-in admin's client

MAPPING = {
    "slug": "munster-fy2025",
    "city": "Münster",
    "fiscal_year": "2025",
    "title_en": "",
    "title_es": "",
    "intro_en": "",
    "source": "",
    "tolerance": "",
    "map_department": "Fachbereich",
    "map_program": "Produkt",
    "map_kind": "Typ",
    "map_amount": "Betrag",
    "map_kind_expense": "Aufwand",
    "map_kind_revenue": "Ertrag",
}


def test_a_semicolon_windows_1252_export_is_mapped_previewed_and_published(
    admin, settings, tmp_path
):
    data = german_export(tmp_path / "haushalt.csv").read_bytes()
    refused = upload(admin, data, "haushalt_2025.csv", **MAPPING)
    assert refused.status_code == 422
    [(file, row, column, message)] = problems_of(refused.text)[:1]
    assert (file, row, column) == ("haushalt_2025.csv", "3", "amount")
    assert '"Amounts use a decimal comma"' in message  # names the form's field
    assert packages(settings) == []

    response = upload(admin, data, "haushalt_2025.csv", **MAPPING, map_decimal_comma="1")
    assert response.status_code == 303, problems_of(response.text)
    preview = admin.get(response.headers["location"])
    text = html.unescape(preview.text)
    assert "How haushalt_2025.csv was read" in text
    assert "encoding Windows-1252 (detected" in text
    assert "delimiter ';' (detected)" in text
    assert "header on row 2 (detected; 1 title row above it skipped)" in text
    assert "summed 2 rows into 1 lines" in text
    assert "The lines made from your file (5)" in text
    assert "Straßenbau" in text and "Bürgerbüro" in text
    spending = sum(german_cents(a) for _, _, k, a in GERMAN_ROWS if k == "Aufwand")
    assert f"Spending ${round(spending / 100):,};" in text  # staff pages show whole dollars
    assert publish(admin, slug="munster-fy2025").status_code == 303
    assert admin.get("/b/munster-fy2025").status_code == 200


def test_a_socrata_export_needs_no_mapping_and_gets_a_workable_tolerance(admin, settings, tmp_path):
    data = socrata_export(tmp_path / "export.csv").read_bytes()
    fields = {"slug": "springfield-fy2026", "fiscal_year": "", "tolerance": "", "title_en": ""}
    response = upload(admin, data, "socrata_budget_export.csv", **fields)
    assert response.status_code == 303, problems_of(response.text)
    preview = html.unescape(admin.get(response.headers["location"]).text)
    assert "header on row 3 (detected; 2 title rows above it skipped)" in preview
    assert "currency symbols removed in 10 rows" in preview
    assert "tolerance $2,100,000: half the largest slider step" in preview
    assert "balance within $2,100,000" in preview  # the rule, on the preview


def test_an_unknown_column_names_the_form_field(admin, settings, tmp_path):
    data = socrata_export(tmp_path / "export.csv").read_bytes()
    refused = upload(admin, data, "export.csv", map_amount="Budget 2026")
    assert refused.status_code == 422
    [(file, row, column, message)] = problems_of(refused.text)
    assert file == "export.csv"
    assert "no column 'Budget 2026'" in message and '"Column for amount"' in message
    assert packages(settings) == []
