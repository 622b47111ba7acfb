"""Commands for analysts who script: a budget's submissions as a file, a personal API token,
and the dashboard's headline as JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from budget_sim.cli.context import budget_for, require_current_schema, settings_of


@click.command()
@click.argument("slug")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "parquet"]),
    required=True,
    help="The file's format (the same content as the staff download).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="The file to write (replaced if it exists).",
)
@click.option("--include-synthetic", is_flag=True, help="Include demo submissions too.")
@click.pass_context
def export(ctx: click.Context, slug: str, fmt: str, output: Path, include_synthetic: bool) -> None:
    """Write the submissions of budget SLUG to a file: one row each, a column per line
    (currency units, to the cent), answers and comments, as staff download them."""
    from budget_sim import exports
    from budget_sim.storage import Database
    from budget_sim.storage.exports import submissions_table
    from budget_sim.web.export_columns import submissions_export

    budget = budget_for(ctx, slug)
    if not output.parent.is_dir():
        raise click.BadParameter(f"{output.parent} is not a folder", param_hint="'--output'")
    database = Database(settings_of(ctx).database_url)
    try:
        table = submissions_table(
            database.read_engine, budget.slug, budget.line_ids, include_synthetic=include_synthetic
        )
    finally:
        database.dispose()
    frame = submissions_export(table, budget)
    partial = output.with_name(output.name + ".partial")
    try:
        if fmt == "xlsx":
            exports.write_xlsx_file(frame, partial)
        else:
            partial.write_bytes(exports.encode(frame.collect(), fmt))
        partial.replace(output)  # a file that is there is whole
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Wrote {table.height:,} submissions of {budget.slug} to {output}.")


@click.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for (the script that uses it).")
@click.option(
    "--days", type=click.Choice(["30", "90", "365"]), default="90", help="How long it works."
)
@click.pass_context
def create_token(ctx: click.Context, email: str, name: str, days: str) -> None:
    """Make a personal API token for the staff account EMAIL and print it once (only its
    SHA-256 is stored). Scripts send it as `Authorization: Bearer <token>`; it acts with the
    account's role and budgets, and is revoked on the account's tokens page."""
    from datetime import UTC, datetime

    from budget_sim import accounts
    from budget_sim.storage import Database
    from budget_sim.storage import staff as staff_db
    from budget_sim.storage import tokens as tokens_db
    from budget_sim.web.staff.tokens import (
        TOKEN_LIFETIMES,
        TOKEN_NAME_MAX,
        TOKEN_PREFIX,
        TOKENS_PER_ACCOUNT,
    )

    name = name.strip()
    if not 1 <= len(name) <= TOKEN_NAME_MAX or not name.isprintable():
        raise click.BadParameter(
            f"name the token after the script that uses it (1 to {TOKEN_NAME_MAX} characters)",
            param_hint="'--name'",
        )
    database = Database(require_current_schema(ctx))
    secret = TOKEN_PREFIX + accounts.new_token()
    try:
        with database.writing() as session:
            moment = datetime.now(UTC)
            user = staff_db.staff_by_email(session, email)
            if user is None or not user.active:
                raise click.ClickException(
                    f"no active staff account {email.strip().lower()!r}; no token was made"
                )
            if tokens_db.count_active(session, user.id, moment) >= TOKENS_PER_ACCOUNT:
                raise click.ClickException(
                    f"{user.email} already has {TOKENS_PER_ACCOUNT} working tokens: revoke one "
                    "at /staff/tokens first; no token was made"
                )
            token_id = tokens_db.create_token(
                session,
                user_id=user.id,
                name=name,
                token_hash=accounts.token_digest(secret),
                now=moment,
                lifetime=TOKEN_LIFETIMES[days],
            )
            staff_db.audit(
                session,
                "created API token (command line)",
                now=moment,
                user_id=user.id,
                detail=f"id={token_id} {name!r} for {days} days",
            )
    finally:
        database.dispose()
    click.echo(
        f"Token {name!r} for {user.email}, working for {days} days (shown only now):", err=True
    )
    click.echo(secret)


def _cents(value: float | None) -> int | None:
    return None if value is None or not math.isfinite(value) else round(value)


def headline_json(
    table: Any, budget: Any, *, include_synthetic: bool, database_url: str
) -> dict[str, Any]:
    """The dashboard's headline figures: the budget's headline method (staff's choice, else
    insights.HEADLINE) and its truthful neighbour, per spending line with their 95% intervals
    (cents), the residents counted (those who saw the line, each compared with the amount they
    were shown), and the methods that differ from the headline by more than the intervals."""
    from budget_sim import analysis, insights
    from budget_sim.insights import dashboard, headline, report

    method = analysis.headline_method(database_url, budget.slug) or insights.HEADLINE
    shown = analysis.shown_amounts(database_url, budget, table)
    filters = report.Filters(include_synthetic=include_synthetic)
    built = report.build(table, budget, filters, shown)
    stats = built.tables["lines"]
    counted = dict(zip(stats["line_id"], stats["submissions"], strict=True))
    whole = built.tables.get("whole-budget", dashboard.whole_budget(table, budget.lines))
    intervals = {
        each: dashboard.bootstrap_interval(table, budget.lines, method=each)
        for each in (method, headline.neighbour(method))
    }
    locked = set(budget.lines.filter(budget.lines["locked"])["id"].to_list())
    figures = headline.headline_figures(
        whole,
        locked,
        submissions=table.height,
        method=method,
        interval=intervals[method].bounds,
        truthful_interval=intervals[headline.neighbour(method)].bounds,
    )
    lines = []
    for row in figures.rows.iter_rows(named=True):
        lines.append(
            {
                "line_id": row["line_id"],
                "department": row["department"],
                "program": row["program"],
                "locked": row["locked"],
                "city_cents": row["city"],
                "headline_cents": _cents(row["headline"]),
                "low_cents": _cents(row["low"]),
                "high_cents": _cents(row["high"]),
                "truthful_cents": _cents(row["truthful"]),
                "truthful_low_cents": _cents(row["truthful_low"]),
                "truthful_high_cents": _cents(row["truthful_high"]),
                "n": counted.get(row["line_id"], 0),
                "differs": [
                    {"method": d.method, "cents": _cents(d.amount), "above": d.above}
                    for d in figures.notes.get(row["line_id"], [])
                ],
            }
        )
    interval = intervals[method]
    return {
        "budget": budget.slug,
        "currency": budget.currency,
        "submissions": table.height,
        "whole_budget_counted": built.whole_counted,
        "include_synthetic": include_synthetic,
        "method": method,
        "method_label": figures.label,
        "truthful": figures.truthful,
        "truthful_label": figures.truthful_label,
        "revisions": dashboard.per_revision(table, budget.version),
        "interval": {
            "level": 0.95,
            "how": interval.method,
            "resamples": interval.resamples,
            "rows": interval.rows,
            "note": interval.note if table.height >= 2 else "Too few submissions for intervals.",
        },
        "lines": lines,
    }


def print_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
