"""Staff accounts from the command line: the first admin, and any other."""

from __future__ import annotations

import sys

import click

from budget_sim.cli.context import require_current_schema


def _email(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from budget_sim import accounts

    problem = accounts.email_problem(value)
    if problem:
        raise click.BadParameter(f"{value!r} {problem}")
    return value.strip().lower()


def _check_slugs(ctx: click.Context, url: str, budgets: tuple[str, ...]) -> None:
    """Every --budget must name a budget residents get (budget_data/ or a published upload)."""
    from budget_sim.cli.context import settings_of
    from budget_sim.storage import Database
    from budget_sim.web.registry import load_budgets

    database = Database(url)
    try:
        known = load_budgets(settings_of(ctx), database)
    finally:
        database.dispose()
    unknown = [slug for slug in budgets if slug not in known]
    if unknown:
        raise click.ClickException(
            f"no budget {', '.join(repr(s) for s in unknown)} (--budget); known: "
            f"{', '.join(sorted(known)) or 'none'}; nothing was created"
        )


@click.command("create-staff")
@click.argument("email", callback=_email)
@click.option("--name", help="The person's name.", show_default="the email")
@click.option("--role", type=click.Choice(["admin", "analyst"]), default="admin", help="Role.")
@click.option(
    "--budget",
    "budgets",
    multiple=True,
    help="A budget an analyst may see (repeat it). An analyst needs this or --all-budgets.",
)
@click.option("--all-budgets", is_flag=True, help="The analyst may see every budget.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_context
def create_staff(
    ctx: click.Context,
    email: str,
    name: str | None,
    role: str,
    budgets: tuple[str, ...],
    all_budgets: bool,
    password_stdin: bool,
) -> None:
    """Create a staff account for EMAIL (asks the password twice). Admins see every budget; an
    analyst sees the budgets given with --budget, or all with --all-budgets."""
    from datetime import UTC, datetime

    from budget_sim import accounts
    from budget_sim.errors import Conflict
    from budget_sim.storage import Database
    from budget_sim.storage import staff as staff_db

    if role == "analyst" and bool(budgets) == all_budgets:
        raise click.ClickException(
            "an analyst needs --budget SLUG (repeat it for several) or --all-budgets, not both "
            "and not neither; nothing was created"
        )
    if role == "admin" and (budgets or all_budgets):
        raise click.ClickException(
            "an admin sees every budget: leave out --budget and --all-budgets"
        )
    url = require_current_schema(ctx)
    if budgets:
        _check_slugs(ctx, url, budgets)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(
            f"Password for {email}", hide_input=True, confirmation_prompt="The same password again"
        )
    problem = accounts.password_problem(password, email)
    if problem:
        raise click.ClickException(f"the password {problem}; nothing was created")
    database = Database(url)
    try:
        with database.writing() as session:
            moment = datetime.now(UTC)
            user_id = staff_db.create_staff(
                session,
                email=email,
                name=name or email,
                role=role,
                budgets=None if role == "admin" or all_budgets else list(budgets),
                password_hash=accounts.hash_password(password),
                now=moment,
            )
            staff_db.audit(
                session,
                "created staff (command line)",
                now=moment,
                user_id=user_id,
                detail=f"{email} as {role}",
            )
    except Conflict as error:
        raise click.ClickException(f"{error}; nothing was created") from None
    finally:
        database.dispose()
    click.echo(f"Created {role} {email}. Sign in at /staff/login.")
