"""Amounts of money as Indonesians type them, read into whole rupiah.

``50000``, ``50.000``, ``50,000``, ``Rp 50.000``, ``Rp50.000,-``, ``50.000,00``, ``50rb``,
``50 ribu``, ``50k``, ``1,5 juta``, ``1.5jt``, ``2 jt`` all read as whole rupiah. A dot or a
comma followed by exactly three digits groups thousands; with a multiplier (rb, ribu, k, jt,
juta) a dot or comma followed by other than three digits is a decimal point ("1,5 juta"); the
result must still be whole rupiah. What cannot be read surely is refused with a reason rather
than guessed: two different separators ("1.000,5"), a fraction of a rupiah, letters, nothing,
zero, a negative amount, or more than :data:`MAX_AMOUNT`.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Larger than any one entry of a neighbourhood credit union: a typo, not a deposit.
MAX_AMOUNT = 1_000_000_000  # Rp1 miliar

_MULTIPLIERS = {
    "rb": 1_000,
    "ribu": 1_000,
    "k": 1_000,
    "jt": 1_000_000,
    "juta": 1_000_000,
}
_CURRENCY = re.compile(r"^(?:rp\.?|idr)\s*", re.IGNORECASE)
# Whole-rupiah endings of formal writing: "50.000,-" and "50.000,00".
_NO_SEN = re.compile(r"[.,](?:-|00)$")
_NUMBER = re.compile(r"^(?P<number>[0-9][0-9.,]*)\s*(?P<unit>[a-z]*)$")
_GROUPED = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{3})+$")


class AmountError(ValueError):
    """Why an amount was refused: ``reason`` is a stable code the dialogs word."""

    EMPTY = "empty"
    LETTERS = "letters"
    SEPARATORS = "separators"  # "1.000,5": two kinds of separator, or groups that are not 3
    FRACTION = "fraction"  # less than a whole rupiah
    ZERO = "zero"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_amount(text: str) -> int:
    """Whole rupiah from what was typed, or :class:`AmountError` with the reason."""
    value = " ".join(text.split()).casefold()
    value = _CURRENCY.sub("", value).strip()
    if not value:
        raise AmountError(AmountError.EMPTY)
    if value.startswith(("-", "\u2212")):
        raise AmountError(AmountError.NEGATIVE)
    value = value.replace(" ", "") if re.fullmatch(r"[0-9 .,]+[a-z]*", value) else value
    value = _NO_SEN.sub("", value) if not value[-1].isalpha() else value
    found = _NUMBER.match(value)
    if found is None:
        raise AmountError(AmountError.LETTERS)
    number, unit = found["number"], found["unit"]
    if unit and unit not in _MULTIPLIERS:
        raise AmountError(AmountError.LETTERS)
    amount = _read(number, _MULTIPLIERS.get(unit, 1))
    if amount == 0:
        raise AmountError(AmountError.ZERO)
    if amount > MAX_AMOUNT:
        raise AmountError(AmountError.TOO_LARGE)
    return amount


def _read(number: str, multiplier: int) -> int:
    if number.endswith((".", ",")):
        raise AmountError(AmountError.SEPARATORS)
    separators = {c for c in number if c in ".,"}
    if not separators:
        return int(number) * multiplier
    if len(separators) > 1:
        raise AmountError(AmountError.SEPARATORS)
    if _GROUPED.match(number):
        return int(re.sub(r"[.,]", "", number)) * multiplier
    if multiplier == 1:
        # "50000.5" or "1.5": a fraction of a rupiah, or groups that are not of three.
        parts = re.split(r"[.,]", number)
        reason = AmountError.FRACTION if len(parts) == 2 else AmountError.SEPARATORS
        raise AmountError(reason)
    whole, _, fraction = number.replace(",", ".").partition(".")
    if "." in fraction:
        raise AmountError(AmountError.SEPARATORS)
    exact = Decimal(f"{whole}.{fraction}") * multiplier
    if exact != exact.to_integral_value():
        raise AmountError(AmountError.FRACTION)
    return int(exact)
