"""What residents read about broken rules, in their language (the model's own messages are
English, for the command line and logs)."""

from __future__ import annotations

from budget_sim.forms import N_
from budget_sim.model import CompiledLine, Summary, Violation
from budget_sim.web.i18n import formatter, gettext


def violation_text(violation: Violation, line: CompiledLine | None) -> str:
    """`line` is the line (department, program, min, max, amount) when it has one."""
    fmt, _ = formatter(), gettext
    if violation.rule == "unknown_line":
        return _("%(id)s is not a line of this budget.") % {"id": violation.line_id}
    if line is None:
        return violation.message
    name = f"{line.department}: {line.program}"
    texts = {
        "locked": _("%(name)s is fixed by the city and cannot be changed."),
        "below_min": _("%(name)s cannot go below %(min)s."),
        "above_max": _("%(name)s cannot go above %(max)s."),
        "negative": _("%(name)s cannot be negative."),
    }
    template = texts.get(violation.rule)
    if template is None:
        return violation.message
    return template % {
        "name": name,
        "min": fmt.money(line.min),
        "max": fmt.money(line.max),
    }


def balance_text(summary: Summary) -> str | None:
    """What is still needed to submit, in plain words; None when the rule is met."""
    fmt, _ = formatter(), gettext
    if summary.gap > 0:
        if summary.fixed_envelope:
            text = _("To submit, cut spending by %(gap)s more.")
        else:
            text = _("To submit, cut spending or raise revenue by %(gap)s more.")
        return text % {"gap": fmt.money(summary.gap)}
    if summary.gap < 0:
        if summary.fixed_envelope:
            text = _("The budget must balance: spend %(gap)s more to submit.")
        else:
            text = _("The budget must balance: spend or lower revenue by %(gap)s more to submit.")
        return text % {"gap": fmt.money(-summary.gap)}
    return None


def form_error_text(message: str) -> str:
    """Form errors are fixed English sentences; the catalog translates each one."""
    return gettext(message)


# money.parse_typed_amount's messages, listed here so the catalogs extract them (money.py
# depends on nothing, not even this marker); tests check the list matches what it raises.
AMOUNT_MESSAGES = (
    N_("must not be negative"),
    N_("must be an amount such as 17,000,000 or 17000000"),
    N_("is too large for any line of a city budget"),
)
