"""Amounts as Indonesians type them (wlcc/money.py): read exactly, or refused with a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wlcc.formatting import format_money
from wlcc.money import MAX_AMOUNT, AmountError, parse_amount


@pytest.mark.parametrize(
    ("typed", "rupiah"),
    [
        ("50000", 50_000),
        ("50.000", 50_000),
        ("50,000", 50_000),
        ("Rp 50.000", 50_000),
        ("Rp50.000", 50_000),
        ("rp. 50.000,-", 50_000),
        ("Rp 50.000,00", 50_000),
        ("IDR 1.250.000", 1_250_000),
        ("50rb", 50_000),
        ("50 ribu", 50_000),
        ("50RB", 50_000),
        ("50k", 50_000),
        ("1,5 juta", 1_500_000),
        ("1.5jt", 1_500_000),
        ("2 jt", 2_000_000),
        ("1.500rb", 1_500_000),
        ("2,25jt", 2_250_000),
        ("  7500 ", 7_500),
        ("1 000 000", 1_000_000),
    ],
)
def test_what_indonesians_type_is_read_exactly(typed: str, rupiah: int) -> None:
    assert parse_amount(typed) == rupiah


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", AmountError.EMPTY),
        ("Rp", AmountError.EMPTY),
        ("0", AmountError.ZERO),
        ("Rp 0,-", AmountError.ZERO),
        ("-5000", AmountError.NEGATIVE),
        ("999999999999", AmountError.TOO_LARGE),
        ("lima puluh ribu", AmountError.LETTERS),
        ("50000abc", AmountError.LETTERS),
        ("5o.000", AmountError.LETTERS),
        ("1.000,5", AmountError.SEPARATORS),
        ("1,000.50", AmountError.SEPARATORS),
        ("10.00.000", AmountError.SEPARATORS),
        ("50.", AmountError.SEPARATORS),
        ("50000.5", AmountError.FRACTION),
        ("1,0000005 juta", AmountError.FRACTION),
    ],
)
def test_what_cannot_be_read_surely_is_refused_with_its_reason(typed: str, reason: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(typed)
    assert refused.value.reason == reason


@given(st.integers(min_value=1, max_value=MAX_AMOUNT))
def test_every_amount_the_bot_writes_reads_back(amount: int) -> None:
    assert parse_amount(format_money(amount)) == amount
    assert parse_amount(str(amount)) == amount
