"""Money, dates and times as Indonesian readers expect them (wlcc.formatting)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from wlcc.formatting import (
    DEFAULT_ZONE,
    format_date,
    format_datetime,
    format_money,
    to_local,
    utcnow,
)

MEETING = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)  # Saturday 09.00 in Palembang


# --- money ---


@pytest.mark.parametrize(
    "amount, text",
    [
        (1250000, "Rp1.250.000"),
        (0, "Rp0"),
        (999, "Rp999"),
        (1000, "Rp1.000"),
        (50000, "Rp50.000"),
        (1_000_000_000_000, "Rp1.000.000.000.000"),
        (-50000, "-Rp50.000"),
        (-1250000, "-Rp1.250.000"),
    ],
)
def test_format_money(amount: int, text: str) -> None:
    assert format_money(amount) == text


def test_money_is_written_the_indonesian_way_in_english_too() -> None:
    assert format_money(1250000, "en") == "Rp1.250.000"
    assert format_money(1250000, None) == "Rp1.250.000"


@pytest.mark.parametrize(
    "amount", [1250000.0, 0.5, Decimal("1250000"), True, False, "1250000", None]
)
def test_format_money_takes_whole_rupiah_only(amount: object) -> None:
    with pytest.raises(TypeError, match="whole rupiah"):
        format_money(amount)  # type: ignore[arg-type]


# --- dates and times ---


def test_format_datetime_in_palembang() -> None:
    assert format_datetime(MEETING) == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"


def test_format_datetime_in_english() -> None:
    assert format_datetime(MEETING, "en") == "Saturday, 12 December 2026 at 09:00 WIB"


def test_unknown_language_falls_back_to_indonesian() -> None:
    assert format_datetime(MEETING, "fr") == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"
    assert format_datetime(MEETING, None) == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"


def test_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime(2026, 12, 12, 2, 0)
    assert format_datetime(naive) == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"
    assert to_local(naive) == MEETING


def test_any_aware_datetime_is_shown_in_the_zone() -> None:
    jakarta = datetime(2026, 12, 12, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    plus_eight = datetime(2026, 12, 12, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    assert format_datetime(jakarta) == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"
    assert format_datetime(plus_eight) == "Sabtu, 12 Desember 2026 pukul 09.00 WIB"


@pytest.mark.parametrize(
    "zone, text",
    [
        ("Asia/Jakarta", "Sabtu, 12 Desember 2026 pukul 09.00 WIB"),
        ("Asia/Pontianak", "Sabtu, 12 Desember 2026 pukul 09.00 WIB"),
        ("Asia/Makassar", "Sabtu, 12 Desember 2026 pukul 10.00 WITA"),
        ("Asia/Jayapura", "Sabtu, 12 Desember 2026 pukul 11.00 WIT"),
    ],
)
def test_indonesian_zones(zone: str, text: str) -> None:
    assert format_datetime(MEETING, "id", ZoneInfo(zone)) == text


def test_indonesian_zone_names_in_english_too() -> None:
    assert (
        format_datetime(MEETING, "en", ZoneInfo("Asia/Makassar"))
        == "Saturday, 12 December 2026 at 10:00 WITA"
    )


def test_other_zones_use_their_own_abbreviation() -> None:
    text = format_datetime(MEETING, "id", ZoneInfo("Europe/Amsterdam"))
    assert text == "Sabtu, 12 Desember 2026 pukul 03.00 CET"


def test_the_local_day_not_the_utc_day() -> None:
    # 20.30 UTC on new year's eve is already 1 January in Palembang.
    moment = datetime(2026, 12, 31, 20, 30, tzinfo=UTC)
    assert format_datetime(moment) == "Jumat, 1 Januari 2027 pukul 03.30 WIB"


@pytest.mark.parametrize(
    "day, id_text, en_text",
    [
        (date(2026, 12, 12), "Sabtu, 12 Desember 2026", "Saturday, 12 December 2026"),
        (date(2027, 1, 3), "Minggu, 3 Januari 2027", "Sunday, 3 January 2027"),
        (date(2026, 8, 17), "Senin, 17 Agustus 2026", "Monday, 17 August 2026"),
    ],
)
def test_format_date(day: date, id_text: str, en_text: str) -> None:
    assert format_date(day) == id_text
    assert format_date(day, "en") == en_text


def test_default_zone_is_palembang_time() -> None:
    assert DEFAULT_ZONE.key == "Asia/Jakarta"


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
