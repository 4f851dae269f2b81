"""What the channels accept from a platform: text made safe to store, ids and numbers checked.

Both webhooks use these before a message goes further, so one bad value (a lone surrogate, a
NUL, a NaN) is cleaned or refused at the edge and never reaches the database, where it would fail
every retry and, on PostgreSQL, the shared insert of its neighbours.
"""

from __future__ import annotations

import math
import re

# Lone UTF-16 surrogates: json.loads gives them for "\ud800"; no database stores them.
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls, DEL and C1 controls: NUL breaks PostgreSQL text, the rest is nothing a person
# wrote. Message text keeps its line breaks and tabs.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile("[\n\t]")
_BAD_IN_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

INT64 = 2**63 - 1
INT32 = 2**31 - 1  # an INTEGER column of PostgreSQL (and every id column of ours)


class Rejected(ValueError):
    """The platform's data cannot be a real message: the webhook answers 4xx."""


def clean_text(value: str, *, multiline: bool = True) -> str:
    """``value`` safe to store: lone surrogates become U+FFFD, control characters go. Line
    breaks and tabs stay in multi-line text (CR LF and CR become LF) and become spaces in a
    single line (a name)."""
    value = _SURROGATE.sub("\ufffd", value).replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        return _CONTROL_IN_TEXT.sub("", value)
    return _CONTROL.sub("", _LINE_BREAK.sub(" ", value))


def clean_optional(value: str | None, *, multiline: bool = False) -> str | None:
    """As :func:`clean_text`, for a field that may be missing; None when nothing is left."""
    if value is None:
        return None
    return clean_text(value, multiline=multiline) or None


def check_id(value: str, what: str, *, max_length: int = 128) -> str:
    """A platform id or address as it came, or :class:`Rejected` when it holds a control
    character or a lone surrogate, or is empty or longer than ``max_length``."""
    if not value or len(value) > max_length or _BAD_IN_ID.search(value):
        raise Rejected(f"{what} is not a valid id")
    return value


def check_int(value: object, what: str, *, low: int = -INT64, high: int = INT64) -> int:
    """A JSON integer (not a bool) within ``low..high``, else :class:`Rejected`."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Rejected(f"{what} must be an integer from {low} to {high}")
    return value


def check_coordinates(latitude: object, longitude: object) -> tuple[float, float]:
    """Finite degrees within -90..90 and -180..180, else :class:`Rejected`."""
    values = []
    for value, limit in ((latitude, 90), (longitude, 180)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Rejected("latitude and longitude must be numbers")
        number = float(value)
        if not math.isfinite(number) or abs(number) > limit:
            raise Rejected("latitude or longitude out of range")
        values.append(number)
    return values[0], values[1]


_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DIGITS = re.compile(r"[0-9]+")


def parse_decimal(value: str, what: str) -> float:
    """A plain decimal number written in ASCII ("-2.9761"), else :class:`Rejected` (no
    "nan", "1e999", "1_0" or other digits than 0-9)."""
    if not _DECIMAL.fullmatch(value):
        raise Rejected(f"{what} must be a decimal number")
    return float(value)


def parse_count(value: str, what: str, *, high: int) -> int:
    """ASCII digits for a number within 0..``high``, else :class:`Rejected` (str.isdigit and
    int() also take "²" or "٣")."""
    if not _DIGITS.fullmatch(value) or len(value) > 12 or int(value) > high:
        raise Rejected(f"{what} must be a number from 0 to {high}")
    return int(value)
