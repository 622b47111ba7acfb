"""When a budget takes submissions (`opens` / `closes` in its package), in words for residents
and for staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date

from budget_sim.model import Budget
from budget_sim.web import i18n


def now() -> datetime:
    return datetime.now(UTC)


def first_day(budget: Budget) -> date | None:
    """The first day submissions are taken, in the budget's time zone."""
    return budget.opens_at.date() if budget.opens_at else None


def last_day(budget: Budget) -> date | None:
    """The last day submissions are taken, in the budget's time zone."""
    return (budget.closes_at - timedelta(days=1)).date() if budget.closes_at else None


def _long(day: date) -> str:
    return format_date(day, format="long", locale=i18n.formatter().locale)


def resident_notice(budget: Budget, moment: datetime, *, refused: bool = False) -> str | None:
    """What a resident reads when the budget does not take submissions at `moment` (None when
    it does). `refused`: a submission was just turned away."""
    state = budget.window(moment)
    if state == "not_open_yet":
        day = first_day(budget)
        if refused:
            text = i18n.gettext(
                "Nothing was sent: this budget takes submissions from %(date)s. Your choices are "
                "kept below: save a draft link to send them then."
            )
        else:
            text = i18n.gettext(
                "This budget takes submissions from %(date)s. You can explore it now."
            )
        return text % {"date": _long(day)} if day else text
    if state == "closed":
        day = last_day(budget)
        if refused:
            text = i18n.gettext(
                "Nothing was sent: submissions to this budget are closed (the last day was "
                "%(date)s)."
            )
        else:
            text = i18n.gettext(
                "Submissions to this budget are closed: the last day to send one was %(date)s. "
                "You can still explore it."
            )
        return text % {"date": _long(day)} if day else text
    return None


def staff_window(budget: Budget, moment: datetime) -> str:
    """The window in a line for staff: "open", "opens 2026-03-01 (America/New_York)"..."""
    first, last = first_day(budget), last_day(budget)
    zone = f" ({budget.timezone})" if first or last else ""
    span = " ".join(
        part for part in (first and f"from {first}", last and f"through {last}") if part
    )
    state = {"open": "open", "not_open_yet": "not open yet", "closed": "closed"}[
        budget.window(moment)
    ]
    return f"{state}{', ' + span + zone if span else ' (no dates set)'}"
