"""Money, dates and times as Indonesian readers expect them.

Amounts are whole rupiah (``int``), never floats. Datetimes are aware, stored in UTC and shown
in the configured zone (Asia/Jakarta by default) with the Indonesian zone name (WIB, WITA, WIT).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import format_currency

from wlcc.i18n import normalize_language

DEFAULT_ZONE = ZoneInfo("Asia/Jakarta")

# Babel knows these names only in Indonesian; members read them the same way in both languages.
_INDONESIAN_ZONES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}

_DATETIME_PATTERNS = {
    "id": "EEEE, d MMMM y 'pukul' HH.mm",
    "en": "EEEE, d MMMM y 'at' HH:mm",
}
_DATE_PATTERNS = {"id": "EEEE, d MMMM y", "en": "EEEE, d MMMM y"}
_BABEL_LOCALES = {"id": "id_ID", "en": "en_ID"}


def format_money(amount: int, lang: str | None = "id") -> str:
    """``1250000`` -> ``Rp1.250.000`` (whole rupiah; negative amounts keep their sign)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError("money is whole rupiah: pass an int")
    # Rupiah are written the Indonesian way in both languages so members recognise them.
    return format_currency(amount, "IDR", format="¤#,##0", locale="id_ID", currency_digits=False)


def _zone_name(zone: ZoneInfo, moment: datetime) -> str:
    name = _INDONESIAN_ZONES.get(zone.key)
    if name:
        return name
    return moment.astimezone(zone).tzname() or zone.key


def to_local(moment: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> datetime:
    if moment.tzinfo is None:  # a naive value is taken as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def local_today(zone: ZoneInfo = DEFAULT_ZONE) -> date:
    """Today's date where ``zone`` is (WLCC_TIMEZONE): not the server's, not UTC's."""
    return to_local(utcnow(), zone).date()


def format_datetime(
    moment: datetime, lang: str | None = "id", zone: ZoneInfo = DEFAULT_ZONE
) -> str:
    """``Sabtu, 12 Desember 2026 pukul 09.00 WIB`` from an aware (or naive UTC) datetime."""
    lang = normalize_language(lang)
    local = to_local(moment, zone)
    text = _babel_format_datetime(
        local, _DATETIME_PATTERNS[lang], tzinfo=zone, locale=_BABEL_LOCALES[lang]
    )
    return f"{text} {_zone_name(zone, local)}"


def format_date(day: date, lang: str | None = "id") -> str:
    """``Sabtu, 12 Desember 2026``."""
    lang = normalize_language(lang)
    return _babel_format_date(day, _DATE_PATTERNS[lang], locale=_BABEL_LOCALES[lang])


def utcnow() -> datetime:
    """Aware UTC now; every timestamp column stores UTC."""
    return datetime.now(UTC)
