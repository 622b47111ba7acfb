"""What every command shares: the settings, one-line errors, the database's schema check."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from budget_sim import __version__
from budget_sim.errors import DataError
from budget_sim.settings import Settings

UPGRADE = "run `budget-sim db upgrade`"


class OneLineUsageError(click.UsageError):
    """A usage error (exit status 2) shown as one line, with where to find help."""

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.format_message(), original.ctx)

    def show(self, file: Any = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx else ""
        click.echo(f"Error: {self.message}{hint}", err=True)


class Commands(click.Group):
    """Turns what goes wrong outside the code (a bad option, settings, an unreachable or
    unmigrated database, a bad package) into one line on stderr and a non-zero exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise OneLineUsageError(error) from None
        except DataError as error:
            for problem in error.problems:
                click.echo(str(problem), err=True)
            ctx.exit(1)
        except ValidationError as error:
            wrong = "; ".join(
                f"BUDGET_SIM_{'_'.join(map(str, e['loc'])).upper()}: "
                + e["msg"].removeprefix("Value error, ")
                for e in error.errors()
            )
            raise click.ClickException(wrong) from None
        except (ArgumentError, NoSuchModuleError) as error:
            raise click.ClickException(f"BUDGET_SIM_DATABASE_URL: {error}") from None
        except (OperationalError, InterfaceError) as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            hint = f": {UPGRADE}" if "no such table" in reason else ""
            where = shown_url(ctx)
            raise click.ClickException(f"cannot use the database {where}: {reason}{hint}") from None


def settings_of(ctx: click.Context) -> Settings:
    """The settings: given to the command (`obj`, as tests do), else read from the environment."""
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj


def shown_url(ctx: click.Context) -> str:
    from sqlalchemy.engine import make_url

    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        return "(BUDGET_SIM_DATABASE_URL)"
    return make_url(settings.database_url).render_as_string(hide_password=True)


def require_current_schema(ctx: click.Context) -> str:
    """The database URL, once its schema is known to be current; else one line saying why."""
    from budget_sim.storage.migrate import schema_status

    url = settings_of(ctx).database_url
    status = schema_status(url)
    where = shown_url(ctx)
    if status == "empty":
        raise click.ClickException(f"the database {where} has no tables yet: {UPGRADE}")
    if status == "behind":
        raise click.ClickException(
            f"the database {where} has an older schema than budget-sim {__version__}: {UPGRADE}"
        )
    if status == "unknown":
        raise click.ClickException(
            f"the database {where} was migrated by a newer budget-sim than {__version__}: "
            "install that version"
        )
    return url


def budget_for(ctx: click.Context, slug: str):  # type: ignore[no-untyped-def]
    """The budget residents get for `slug`: budget_data/, or a revision an admin published."""
    from budget_sim.storage import Database
    from budget_sim.web.registry import load_budgets

    database = Database(require_current_schema(ctx))
    try:
        budgets = load_budgets(settings_of(ctx), database)
    finally:
        database.dispose()
    if slug not in budgets:
        raise click.ClickException(f"no budget {slug!r}; known: {', '.join(sorted(budgets))}")
    return budgets[slug]
