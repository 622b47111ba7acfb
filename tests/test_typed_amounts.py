"""Amounts as residents type them (money.parse_typed_amount), and the messages it may raise."""

from __future__ import annotations

import pytest

from budget_sim.money import parse_typed_amount
from budget_sim.web.resident.messages import AMOUNT_MESSAGES

MILLIONS_17 = 17_000_000_00


@pytest.mark.parametrize(
    "typed",
    [
        "17,000,000",
        "17000000",
        "$17,000,000",
        " $17,000,000 ",
        "US$17,000,000",
        "17,000,000 USD",
        "17 000 000",
        "17\u00a0000\u00a0000",
        "17\u202f000\u202f000",
        "17.000.000",
        "17,000,000.00",
    ],
)
def test_round_amounts_in_every_usual_writing(typed):
    assert parse_typed_amount(typed) == MILLIONS_17


def test_a_lone_separator_is_read_the_locale_way():
    assert parse_typed_amount("17,000") == 17_000_00  # English: "," groups
    assert parse_typed_amount("17.000", decimal=",") == 17_000_00  # Spain: "." groups
    assert parse_typed_amount("1.234,56") == 1_234_56  # both: the last one is the decimal sign
    assert parse_typed_amount("17,5") == 17_50  # one or two digits after it: decimals
    with pytest.raises(ValueError):
        parse_typed_amount("17.000")  # English: three decimals, not money


@pytest.mark.parametrize(
    "typed", ["", "$", "1,00,000", "1.000,000", "1e9", "NaN", "0x10", "(5)", "١٢", "１２", "1_000"]
)
def test_what_is_not_an_amount_says_so(typed):
    with pytest.raises(ValueError, match="must be an amount such as 17,000,000"):
        parse_typed_amount(typed)


def test_negative_only_for_offsets_and_every_message_is_translatable():
    assert parse_typed_amount("-$1,000", allow_negative=True) == -1_000_00
    raised = set()
    for typed, kwargs in [("-5", {}), ("x", {}), ("9" * 20, {})]:
        with pytest.raises(ValueError) as error:
            parse_typed_amount(typed, **kwargs)
        raised.add(str(error.value))
    assert raised == set(AMOUNT_MESSAGES)  # the catalogs extract exactly these
