"""Budgets: check and import packages, add demo submissions, read insights, embed."""

from __future__ import annotations

import random
import secrets
import sys
import time
from pathlib import Path

import click

from budget_sim.cli.context import budget_for, settings_of


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
def check(path: Path) -> None:
    """Validate the budget package in folder PATH: every problem with file, row and column,
    and that some plan within the lines' limits and steps meets the balance rule."""
    from budget_sim.data import check_package, load_package
    from budget_sim.data.reachable import reach_problems

    problems = check_package(path)
    if not problems:
        problems = reach_problems(load_package(path), Path(path).name)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) in {path}", err=True)
        sys.exit(1)
    click.echo(f"{path}: no problems found")


def _pairs(option: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, equals, text = value.partition("=")
        if not equals or key.strip() not in allowed:
            raise click.BadParameter(
                f"{value!r}: write KEY=TEXT with KEY one of {', '.join(allowed)}",
                param_hint=f"'{option}'",
            )
        pairs[key.strip()] = text.strip()
    return pairs


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create the package in.",
    show_default="the data folder",
)
@click.option("--slug", help="Package slug.", show_default="from city and fiscal year")
@click.option("--city", help="The city, e.g. 'Springfield, IL'.", show_default="a city column")
@click.option(
    "--fiscal-year",
    type=click.IntRange(1900, 2200),
    help="The year the fiscal year ends in; with a year column, only its rows are kept.",
    show_default="a fiscal year column",
)
@click.option(
    "--header-row",
    type=click.IntRange(min=1),
    help="Row of the column names.",
    show_default="detected (title rows skipped)",
)
@click.option("--delimiter", help="CSV column separator, e.g. ';' or tab.", show_default="detected")
@click.option(
    "--encoding",
    help="CSV text encoding, e.g. cp1252.",
    show_default="detected (BOM, UTF-8, else Windows-1252)",
)
@click.option("--decimal-comma", is_flag=True, help="Amounts are written 1.234.567,89.")
@click.option("--sheet", help="XLSX sheet name.", show_default="the first sheet")
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar="ROLE=HEADER",
    help="The column that holds ROLE (department, program, kind, amount; also fund, "
    "source_note); HEADER empty: no such column. Repeatable.",
    show_default="by the column names",
)
@click.option(
    "--kind",
    type=click.Choice(["expense", "revenue"]),
    help="Every row is this kind (when no column tells).",
)
@click.option(
    "--kind-value",
    "kind_values",
    multiple=True,
    metavar="KIND=TEXT",
    help="The kind column's TEXT means KIND (expense or revenue). Repeatable.",
    show_default="expense(s), expenditure(s), revenue(s), income...",
)
@click.pass_context
def import_(
    ctx: click.Context,
    source: Path,
    dest: Path | None,
    slug: str | None,
    city: str | None,
    fiscal_year: int | None,
    header_row: int | None,
    delimiter: str | None,
    encoding: str | None,
    decimal_comma: bool,
    sheet: str | None,
    columns: tuple[str, ...],
    kind: str | None,
    kind_values: tuple[str, ...],
) -> None:
    """Turn SOURCE, a city's budget export (.csv or .xlsx), into a package skeleton: rows of
    one department and program summed into one line, amounts to the cent."""
    from budget_sim.data import import_source
    from budget_sim.data.export_read import ROLES, ReadOptions

    _pairs("--kind-value", kind_values, ("expense", "revenue"))  # checks every value
    kinds = {}
    for value in kind_values:  # several texts may mean one kind
        kind_, _, text = value.partition("=")
        kinds[text.strip()] = kind_.strip()
    options = ReadOptions(
        header_row=header_row,
        delimiter=delimiter,
        encoding=encoding,
        decimal_comma=decimal_comma,
        sheet=sheet,
        columns=_pairs("--column", columns, ROLES),
        kind=kind,
        kind_values=kinds,
    )
    made = import_source(
        source,
        dest or settings_of(ctx).data_dir,
        slug=slug,
        options=options,
        city=city,
        fiscal_year=fiscal_year,
    )
    click.echo(f"Read {source.name}:")
    for note in made.notes:
        click.echo(f"  {note}")
    click.echo(f"Wrote {made.folder}. Review budget.toml (rules, households, questions), then run:")
    click.echo(f"  budget-sim check {made.folder}")


@click.command()
@click.argument("slug")
@click.option(
    "--residents", type=click.IntRange(min=1), default=1000, help="How many submissions to add."
)
@click.option("--seed", type=int, help="Random seed, to repeat a run.", show_default="random")
@click.option("--batch", type=click.IntRange(min=1), default=1000, hidden=True)
@click.pass_context
def demo(ctx: click.Context, slug: str, residents: int, seed: int | None, batch: int) -> None:
    """Add synthetic, plausible submissions to budget SLUG (flagged synthetic in the database)."""
    from budget_sim.data.reachable import currency_symbol
    from budget_sim.demo import DemoError, PlanMaker, district_answers
    from budget_sim.model.reach import reachability
    from budget_sim.storage import Database, NewSubmission, save_many

    budget = budget_for(ctx, slug)
    reach = reachability(budget)
    if not reach.reachable:
        raise click.ClickException(
            f"{budget.slug}: {reach.message(currency_symbol(budget.currency))}"
        )
    seed = seed if seed is not None else secrets.randbits(32)
    maker, rng = PlanMaker(budget, seed=seed), random.Random(seed)
    database = Database(settings_of(ctx).database_url)
    started, pending = time.perf_counter(), []
    bar = click.progressbar(length=residents, label="synthetic submissions", file=sys.stderr)
    try:
        with bar:
            for plan in maker.plans(residents):
                pending.append(
                    NewSubmission(
                        budget_slug=budget.slug,
                        budget_digest=budget.version,
                        line_ids=budget.line_ids,
                        nonce=f"demo-{secrets.token_hex(16)}",
                        amounts=plan,
                        answers=district_answers(budget, rng),
                        synthetic=True,
                    )
                )
                if len(pending) == batch:
                    with database.writing() as session:
                        bar.update(save_many(session, pending))
                    pending = []
            if pending:
                with database.writing() as session:
                    bar.update(save_many(session, pending))
    except DemoError as error:
        raise click.ClickException(f"{error}; nothing more was added") from None
    finally:
        database.dispose()
    elapsed = time.perf_counter() - started
    click.echo(f"Added {residents:,} synthetic submissions to {budget.slug} in {elapsed:.1f} s.")
    click.echo(f"See them with: budget-sim insights {budget.slug} --include-synthetic")


@click.command()
@click.argument("slug")
@click.option("--include-synthetic", is_flag=True, help="Count demo submissions too.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the headline (per line: city, headline method, 95%% interval, n) as JSON.",
)
@click.pass_context
def insights(ctx: click.Context, slug: str, include_synthetic: bool, as_json: bool) -> None:
    """Per line of budget SLUG: the city's amount, submissions, mean, median, raising, cutting;
    with --json, the dashboard's headline figures with their n and intervals."""
    from budget_sim.analysis import shown_amounts
    from budget_sim.insights.dashboard import line_table
    from budget_sim.money import format_money
    from budget_sim.storage import Database
    from budget_sim.storage.exports import submissions_table

    budget = budget_for(ctx, slug)
    database = Database(settings_of(ctx).database_url)
    started = time.perf_counter()
    try:
        table = submissions_table(
            database.read_engine, budget.slug, budget.line_ids, include_synthetic=include_synthetic
        )
    finally:
        database.dispose()
    if as_json:
        from budget_sim.cli.analysts import headline_json, print_json

        url = settings_of(ctx).database_url
        print_json(
            headline_json(table, budget, include_synthetic=include_synthetic, database_url=url)
        )
        return
    shown = shown_amounts(settings_of(ctx).database_url, budget, table)
    stats = line_table(table, budget.lines, shown=shown)
    elapsed = time.perf_counter() - started
    which = "including synthetic" if include_synthetic else "synthetic excluded"
    count = f"{table.height:,} submissions ({which})"
    click.echo(f"{budget.title}: {count}; computed in {elapsed:.2f} s")
    header = (
        f"{'line':<58} {'city':>15} {'n':>7} {'mean':>15} {'median':>15} {'raise':>6} {'cut':>6}"
    )
    click.echo(header)
    click.echo("-" * len(header))

    def share(value: float | None) -> str:
        return "" if value is None else f"{value:.0%}"

    def money(value: float | None) -> str:
        return "" if value is None else format_money(round(value))

    for row in stats.iter_rows(named=True):
        name = f"{row['department']}: {row['program']}"
        name = name if len(name) <= 58 else name[:57] + "…"
        click.echo(
            f"{name:<58} {format_money(row['city']):>15} {row['submissions']:>7,} "
            f"{money(row.get('mean')):>15} {money(row.get('median')):>15} "
            f"{share(row.get('raised')):>6} {share(row.get('cut')):>6}"
        )
    if table.height == 0 and not include_synthetic:
        click.echo("No real submissions yet. Add --include-synthetic to see demo data.")


def _site_address(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    from budget_sim.settings import check_base_url

    given = value or settings_of(ctx).base_url
    if not given:
        raise click.BadParameter(
            "give the site's address (e.g. https://budget.example.org) or set BUDGET_SIM_BASE_URL"
        )
    try:
        return check_base_url(given)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.argument("slug")
@click.option(
    "--base-url",
    callback=_site_address,
    help="Where this site is served, e.g. https://budget.example.org",
    show_default="BUDGET_SIM_BASE_URL",
)
@click.option("--lang", help="Language of the embedded simulator.", show_default="English")
@click.pass_context
def embed(ctx: click.Context, slug: str, base_url: str, lang: str | None) -> None:
    """Print the snippet a city pastes into its own page to embed budget SLUG."""
    from budget_sim.web.urls import embed_snippet

    budget = budget_for(ctx, slug)
    if lang is not None and lang not in budget.locales:
        raise click.BadParameter(
            f"{lang!r}: {budget.slug} is offered in {', '.join(budget.locales)}",
            param_hint="'--lang'",
        )
    click.echo(embed_snippet(base_url, budget.slug, lang))
    if budget.embed_origins:
        click.echo(
            f"Pages on these origins may show it (embed_origins in {budget.slug}'s budget.toml): "
            + ", ".join(budget.embed_origins),
            err=True,
        )
    else:
        click.echo(
            f"Warning: {budget.slug} allows no embed origins, so browsers will refuse the frame on "
            "every page. Add the city's origin to its budget.toml, e.g. "
            'embed_origins = ["https://www.example.gov"].',
            err=True,
        )
    if base_url.startswith("http://"):
        click.echo(
            "Warning: the base URL uses http://, so pages served over https cannot show it.",
            err=True,
        )
