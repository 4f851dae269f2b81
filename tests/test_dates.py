"""Dates as coordinators type them, monthly rules, holidays, quiet hours (wlcc.dates).

``NOW`` is Monday 7 December 2026 08:00 WIB; 12 December 2026 is a Saturday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from wlcc import dates
from wlcc.dates import (
    PROBLEM_CODES,
    ParsedWhen,
    ParseProblem,
    holiday_name,
    is_holiday,
    monthly_occurrences,
    nth_weekday,
    outside_quiet_hours,
    parse_nth,
    parse_quiet_hours,
    parse_weekday,
    parse_when,
    suggest_date,
    working_days_after,
)
from wlcc.formatting import format_datetime

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=WIB)
SAT, SUN, MON, FRI = 5, 6, 0, 4


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def when(text: str, now: datetime = NOW, **kwargs: bool) -> ParsedWhen:
    result = parse_when(text, now, WIB, **kwargs)
    assert isinstance(result, ParsedWhen), f"{text!r}: {result}"
    assert result.start.tzinfo is UTC
    assert result.end is None or result.end.tzinfo is UTC
    return result


def problem(text: str, now: datetime = NOW, **kwargs: bool) -> str:
    result = parse_when(text, now, WIB, **kwargs)
    assert isinstance(result, ParseProblem), f"{text!r}: {result}"
    return result.code


# --- parse_when: the forms of the brief ---


@pytest.mark.parametrize(
    "text, start",
    [
        ("Sabtu 12 Desember jam 9", local(2026, 12, 12, 9)),
        ("12 Desember 2026 09.00", local(2026, 12, 12, 9)),
        ("12/12 09.00", local(2026, 12, 12, 9)),
        ("12/12/2026 9:30", local(2026, 12, 12, 9, 30)),
        ("12-12-2026 14.00", local(2026, 12, 12, 14)),
        ("12.12.2026 jam 9", local(2026, 12, 12, 9)),
        ("12/12/26 9.00", local(2026, 12, 12, 9)),
        ("besok jam 3 sore", local(2026, 12, 8, 15)),
        ("lusa jam 10 pagi", local(2026, 12, 9, 10)),
        ("Sabtu depan jam 9", local(2026, 12, 12, 9)),
        ("sabtu jam 09.00", local(2026, 12, 12, 9)),
        ("12 Des jam 7 malam", local(2026, 12, 12, 19)),
        ("tanggal 19 pukul 13.30", local(2026, 12, 19, 13, 30)),
        ("tgl 19 pkl 13.30", local(2026, 12, 19, 13, 30)),
        ("2026-12-12 09:00", local(2026, 12, 12, 9)),
        ("2026-12-12T09:00", local(2026, 12, 12, 9)),
        ("12 December 9am", local(2026, 12, 12, 9)),
        ("December 12, 2026 9:30 am", local(2026, 12, 12, 9, 30)),
        ("12th December at 2pm", local(2026, 12, 12, 14)),
        ("tomorrow 3pm", local(2026, 12, 8, 15)),
        ("tomorrow at 9", local(2026, 12, 8, 9)),
        ("day after tomorrow 10 a.m.", local(2026, 12, 9, 10)),
        ("sat 9am", local(2026, 12, 12, 9)),
        ("SABTU, 12 DESEMBER, JAM 9", local(2026, 12, 12, 9)),
        ("Jum'at 11 Des pukul 14.00", local(2026, 12, 11, 14)),
        ("Jum’at jam 14.00", local(2026, 12, 11, 14)),
        ("Ahad jam 8", local(2026, 12, 13, 8)),
        ("hari Minggu jam 8", local(2026, 12, 13, 8)),
        ("Sab 12 Des 9.30", local(2026, 12, 12, 9, 30)),
        ("Sabtu 19 jam 9", local(2026, 12, 19, 9)),
        ("hari ini jam 7 malam", local(2026, 12, 7, 19)),
        ("rapat sabtu jam 9 di balai warga", local(2026, 12, 12, 9)),
        ("12 Des jam 9 WIB", local(2026, 12, 12, 9)),
        ("besok jam9", local(2026, 12, 8, 9)),
    ],
)
def test_forms(text: str, start: datetime) -> None:
    result = when(text)
    assert result.start == start
    assert result.end is None
    assert result.has_time


@pytest.mark.parametrize(
    "text, month, day",
    [
        ("1 Januari 2027 jam 9", 1, 1),
        ("1 Jan 2027 jam 9", 1, 1),
        ("1 Februari 2027 jam 9", 2, 1),
        ("1 Feb 2027 jam 9", 2, 1),
        ("1 Pebruari 2027 jam 9", 2, 1),
        ("1 Maret 2027 jam 9", 3, 1),
        ("1 Mar 2027 jam 9", 3, 1),
        ("1 April 2027 jam 9", 4, 1),
        ("1 Apr 2027 jam 9", 4, 1),
        ("1 Mei 2027 jam 9", 5, 1),
        ("1 May 2027 9am", 5, 1),
        ("1 Juni 2027 jam 9", 6, 1),
        ("1 Jun 2027 jam 9", 6, 1),
        ("1 Juli 2027 jam 9", 7, 1),
        ("1 Jul 2027 jam 9", 7, 1),
        ("1 Agustus 2027 jam 9", 8, 1),
        ("1 Agu 2027 jam 9", 8, 1),
        ("1 Agt 2027 jam 9", 8, 1),
        ("1 Ags 2027 jam 9", 8, 1),
        ("1 September 2027 jam 9", 9, 1),
        ("1 Sep 2027 jam 9", 9, 1),
        ("1 Sept 2027 jam 9", 9, 1),
        ("1 Oktober 2027 jam 9", 10, 1),
        ("1 Okt 2027 jam 9", 10, 1),
        ("1 November 2027 jam 9", 11, 1),
        ("1 Nov 2027 jam 9", 11, 1),
        ("1 Nop 2027 jam 9", 11, 1),
        ("1 Desember 2027 jam 9", 12, 1),
        ("1 Des. 2027 jam 9", 12, 1),
        ("1 October 2027 9am", 10, 1),
    ],
)
def test_month_names(text: str, month: int, day: int) -> None:
    assert when(text).start == local(2027, month, day, 9)


@pytest.mark.parametrize(
    "text, weekday",
    [
        ("Senin jam 9", MON),
        ("Selasa jam 9", 1),
        ("Rabu jam 9", 2),
        ("Kamis jam 9", 3),
        ("Jumat jam 9", FRI),
        ("Jum'at jam 9", FRI),
        ("Sabtu jam 9", SAT),
        ("Minggu jam 9", SUN),
        ("Ahad jam 9", SUN),
        ("Saturday 9am", SAT),
        ("Thursday 9am", 3),
    ],
)
def test_day_names_are_the_next_such_day(text: str, weekday: int) -> None:
    start = when(text).start.astimezone(WIB)
    assert start.weekday() == weekday
    assert NOW <= start < NOW + timedelta(days=7)
    assert start.time() == time(9)


# --- parse_when: times ---


@pytest.mark.parametrize(
    "text, hour, minute",
    [
        ("besok jam 9", 9, 0),
        ("besok jam 9.30", 9, 30),
        ("besok jam 09.00", 9, 0),
        ("besok 9:00", 9, 0),
        ("besok pukul 13.30", 13, 30),
        ("besok jam 3 sore", 15, 0),
        ("besok jam 3 petang", 15, 0),
        ("besok jam 7 malam", 19, 0),
        ("besok jam 12 siang", 12, 0),
        ("besok jam 1 siang", 13, 0),
        ("besok jam 11 siang", 11, 0),
        ("besok jam 6 pagi", 6, 0),
        ("besok jam 5 dini hari", 5, 0),
        ("besok jam 16 sore", 16, 0),
        ("besok jam 20.00 malam", 20, 0),
        ("besok 9 pagi", 9, 0),
        ("besok 12am", 0, 0),
        ("besok 12pm", 12, 0),
        ("besok 7.30pm", 19, 30),
        ("besok jam 0.00", 0, 0),
        ("besok jam 23.59", 23, 59),
    ],
)
def test_times(text: str, hour: int, minute: int) -> None:
    assert when(text).start == local(2026, 12, 8, hour, minute)


def test_after_midnight_at_night_is_the_next_calendar_day() -> None:
    assert when("besok jam 12 malam").start == local(2026, 12, 9, 0)
    assert when("besok jam 1 malam").start == local(2026, 12, 9, 1)


@pytest.mark.parametrize(
    "text",
    [
        "besok jam 25",
        "besok jam 24.00",
        "besok 25:00",
        "besok jam 9.75",
        "besok jam 12 pagi",
        "besok jam 5 malam",
        "besok jam 13 pagi",
        "besok 13pm",
        "besok jam 10 sore",
        "jam 25",  # no date either: the time is the clearer problem
    ],
)
def test_bad_time(text: str) -> None:
    assert problem(text) == "bad_time"


# --- parse_when: an end ---


@pytest.mark.parametrize(
    "text, start, end",
    [
        ("12/12 09.00-12.00", (9, 0), (12, 0)),
        ("12/12 09.00 - 12.00 WIB", (9, 0), (12, 0)),
        ("12/12 09.00–12.00", (9, 0), (12, 0)),
        ("Sabtu 12 Des jam 9 sampai 12", (9, 0), (12, 0)),
        ("Sabtu jam 9 sampai jam 12.30", (9, 0), (12, 30)),
        ("Sabtu jam 9 s/d 12", (9, 0), (12, 0)),
        ("Sabtu jam 9 sd 12", (9, 0), (12, 0)),
        ("Sabtu jam 9 hingga 11", (9, 0), (11, 0)),
        ("Sabtu jam 9-12", (9, 0), (12, 0)),
        ("Sabtu jam 7-9 malam", (19, 0), (21, 0)),
        ("Sabtu jam 3 sore sampai 5", (15, 0), (17, 0)),
        ("Sabtu jam 9 pagi sampai 12", (9, 0), (12, 0)),
        ("Sabtu jam 10 pagi - 2 siang", (10, 0), (14, 0)),
        ("Sabtu jam 10 sampai 1", (10, 0), (13, 0)),
        ("Sabtu 10am-12pm", (10, 0), (12, 0)),
        ("next saturday 10-11am", (10, 0), (11, 0)),
        ("12 December 9am to 11am", (9, 0), (11, 0)),
    ],
)
def test_end(text: str, start: tuple[int, int], end: tuple[int, int]) -> None:
    result = when(text)
    assert result.start == local(2026, 12, 12, *start)
    assert result.end == local(2026, 12, 12, *end)


def test_end_at_midnight() -> None:
    result = when("Sabtu jam 8 malam sampai 12")
    assert result.start == local(2026, 12, 12, 20)
    assert result.end == local(2026, 12, 13, 0)


@pytest.mark.parametrize("text", ["Sabtu jam 9 sampai selesai", "12/12 09.00 s/d selesai"])
def test_until_done_has_no_end(text: str) -> None:
    result = when(text)
    assert result.start == local(2026, 12, 12, 9)
    assert result.end is None


@pytest.mark.parametrize("text", ["besok 09.00-08.00", "besok jam 9 sampai 9", "besok 12.00-12.00"])
def test_end_not_after_start(text: str) -> None:
    assert problem(text) == "bad_time"


# --- parse_when: years, month ends, leap years ---


def test_year_rollover() -> None:
    assert when("5 Januari jam 9").start == local(2027, 1, 5, 9)
    assert when("5/1 jam 9").start == local(2027, 1, 5, 9)
    assert when("January 5 9am").start == local(2027, 1, 5, 9)
    assert when("Jumat 1 Januari jam 9").start == local(2027, 1, 1, 9)
    # a day of this year already gone means next year
    assert when("30 November jam 9").start == local(2027, 11, 30, 9)
    assert when("6 Desember jam 9").start == local(2027, 12, 6, 9)
    # later this year stays this year
    assert when("31 Desember jam 23.59").start == local(2026, 12, 31, 23, 59)
    # "tanggal 5" in December is 5 January
    assert when("tanggal 5 jam 9").start == local(2027, 1, 5, 9)


def test_today_with_a_time_gone_is_past_not_next_year() -> None:
    assert problem("7 Desember jam 7") == "past"
    assert problem("7/12 jam 7") == "past"
    assert problem("hari ini jam 7") == "past"
    assert when("7 Desember jam 9").start == local(2026, 12, 7, 9)
    assert when("hari ini jam 08.00").start == NOW  # now itself is not past


@pytest.mark.parametrize(
    "text",
    [
        "1/1/2025 jam 9",
        "12 Desember 2025 jam 9",
        "2026-12-06 09:00",
        "senin 7 des jam 7",
    ],
)
def test_past(text: str) -> None:
    assert problem(text) == "past"


@pytest.mark.parametrize(
    "text",
    [
        "31 Februari jam 9",
        "30/2 jam 9",
        "30 Feb jam 9",
        "31/4 jam 9",
        "31 Juni 2027 jam 9",
        "31 September jam 9",
        "31 November jam 9",
        "32/12 jam 9",
        "13/13 jam 9",
        "0/12 jam 9",
        "2027-02-30 09:00",
        "29/2/2027 jam 9",
        "29 Februari 2027 jam 9",
        "tanggal 32 jam 9",
        "Sabtu 0 jam 9",
    ],
)
def test_impossible_date(text: str) -> None:
    assert problem(text) == "impossible_date"


def test_leap_years() -> None:
    assert when("29 Februari 2028 jam 9").start == local(2028, 2, 29, 9)
    assert when("29/2/2028 jam 9").start == local(2028, 2, 29, 9)
    # typed in December 2026: the coming February (2027) has no 29th
    assert problem("29 Februari jam 9") == "impossible_date"
    # typed in December 2027: February 2028 has one
    assert when("29 Februari jam 9", now=local(2027, 12, 1, 8)).start == local(2028, 2, 29, 9)
    assert when("28 Februari jam 9").start == local(2027, 2, 28, 9)


def test_month_ends() -> None:
    assert when("31 Januari jam 9").start == local(2027, 1, 31, 9)
    assert when("30/4 jam 9").start == local(2027, 4, 30, 9)
    # "tanggal 31" in a month without one: the next month with a 31st
    assert when("tanggal 31 jam 9", now=local(2026, 11, 7, 8)).start == local(2026, 12, 31, 9)
    assert when("tanggal 30 jam 9", now=local(2027, 2, 1, 8)).start == local(2027, 3, 30, 9)


# --- parse_when: day names ---


def test_day_name_today() -> None:
    saturday_morning = local(2026, 12, 12, 8)
    assert when("sabtu jam 9", now=saturday_morning).start == local(2026, 12, 12, 9)
    # the time has gone: next week's
    assert when("sabtu jam 7", now=saturday_morning).start == local(2026, 12, 19, 7)
    # "depan" is never today
    assert when("sabtu depan jam 9", now=saturday_morning).start == local(2026, 12, 19, 9)
    assert when("next saturday 9am", now=saturday_morning).start == local(2026, 12, 19, 9)


def test_next_week() -> None:
    assert when("Sabtu minggu depan jam 9").start == local(2026, 12, 19, 9)
    assert when("Sabtu pekan depan jam 9").start == local(2026, 12, 19, 9)
    assert when("minggu depan hari sabtu jam 9").start == local(2026, 12, 19, 9)
    assert when("saturday next week 9am").start == local(2026, 12, 19, 9)
    assert when("Senin minggu depan jam 9").start == local(2026, 12, 14, 9)
    # on a Sunday, next week starts tomorrow
    sunday = local(2026, 12, 13, 8)
    assert when("Senin minggu depan jam 9", now=sunday).start == local(2026, 12, 14, 9)
    assert when("Sabtu minggu depan jam 9", now=sunday).start == local(2026, 12, 19, 9)


def test_minggu_alone_is_sunday() -> None:
    assert when("Minggu jam 9").start == local(2026, 12, 13, 9)
    assert when("Minggu depan jam 9").start == local(2026, 12, 13, 9)


@pytest.mark.parametrize(
    "text",
    [
        "Jumat 12 Desember 2026",
        "Jumat 12 Desember 2026 jam 9",
        "Jumat 12/12 jam 9",
        "Sabtu 16 jam 9",
        "besok sabtu jam 9",
        "Sunday 12 December 9am",
    ],
)
def test_weekday_mismatch(text: str) -> None:
    assert problem(text) == "weekday_mismatch"


def test_weekday_agreeing() -> None:
    assert when("besok selasa jam 9").start == local(2026, 12, 8, 9)
    assert when("Sabtu, 12/12/2026 jam 9").start == local(2026, 12, 12, 9)


# --- parse_when: what it cannot use ---


@pytest.mark.parametrize("text", ["", "   ", "halo", "jam 9", "pukul 13.30", "Desember jam 9"])
def test_no_date(text: str) -> None:
    assert problem(text) == "no_date"


@pytest.mark.parametrize("text", ["12 Desember", "Sabtu", "besok", "12/12", "2026-12-12"])
def test_no_time(text: str) -> None:
    assert problem(text) == "no_time"


@pytest.mark.parametrize(
    "text",
    [
        "12/12 atau 19/12 jam 9",
        "12/12 jam 9 dan jam 10",
        "besok 12 desember jam 9",
        "sabtu atau minggu jam 9",
        "12 desember 2026 9",
        "besok lusa jam 9",
    ],
)
def test_ambiguous(text: str) -> None:
    assert problem(text) == "ambiguous"


def test_date_without_time_when_allowed() -> None:
    result = when("12 Desember", require_time=False)
    assert result == ParsedWhen(local(2026, 12, 12).astimezone(UTC), None, has_time=False)
    assert when("Senin", require_time=False).start == local(2026, 12, 7)  # today
    assert when("hari ini", require_time=False).start == local(2026, 12, 7)
    assert problem("1/12/2026", require_time=False) == "past"
    # a time given anyway is kept
    assert when("12 Desember jam 9", require_time=False).has_time


def test_now_in_utc_or_naive() -> None:
    utc_now = NOW.astimezone(UTC)
    assert when("besok jam 9", now=utc_now).start == local(2026, 12, 8, 9)
    naive_utc = utc_now.replace(tzinfo=None)
    assert when("besok jam 9", now=naive_utc).start == local(2026, 12, 8, 9)
    # 23:30 WIB on Monday is Monday 16:30 UTC: "besok" is Tuesday the 8th... in Jakarta
    late = local(2026, 12, 7, 23, 30).astimezone(UTC)
    assert when("besok jam 9", now=late).start == local(2026, 12, 8, 9)


def test_results_are_utc() -> None:
    assert when("Sabtu 12 Desember jam 9").start == datetime(2026, 12, 12, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_reads_what_formatting_writes(lang: str) -> None:
    moment = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
    assert when(format_datetime(moment, lang)).start == moment


def test_problem_codes() -> None:
    assert {
        "impossible_date",
        "past",
        "no_date",
        "no_time",
        "bad_time",
        "weekday_mismatch",
        "ambiguous",
    } == PROBLEM_CODES
    with pytest.raises(ValueError):
        ParseProblem("nonsense")


# --- weekdays and nth ---


@pytest.mark.parametrize(
    "text, weekday",
    [
        ("saturday", SAT),
        ("Saturday", SAT),
        ("sat", SAT),
        ("Sat.", SAT),
        ("sabtu", SAT),
        ("Sab", SAT),
        ("hari Sabtu", SAT),
        (" SABTU ", SAT),
        ("senin", MON),
        ("Mon", MON),
        ("selasa", 1),
        ("tue", 1),
        ("rabu", 2),
        ("wednesday", 2),
        ("kamis", 3),
        ("thu", 3),
        ("jumat", FRI),
        ("Jum'at", FRI),
        ("Jum’at", FRI),
        ("friday", FRI),
        ("minggu", SUN),
        ("Ahad", SUN),
        ("sunday", SUN),
        ("sun", SUN),
        ("", None),
        ("sabtuu", None),
        ("besok", None),
    ],
)
def test_parse_weekday(text: str, weekday: int | None) -> None:
    assert parse_weekday(text) == weekday


@pytest.mark.parametrize(
    "text, nth",
    [
        ("1", 1),
        ("first", 1),
        ("pertama", 1),
        ("2", 2),
        ("second", 2),
        ("2nd", 2),
        ("kedua", 2),
        ("Ke-2", 2),
        ("ke 2", 2),
        ("ketiga", 3),
        ("third", 3),
        ("keempat", 4),
        ("4th", 4),
        ("kelima", 5),
        ("5", 5),
        ("last", "last"),
        ("Terakhir", "last"),
        ("-1", "last"),
        ("6", None),
        ("0", None),
        ("", None),
        ("kapan", None),
    ],
)
def test_parse_nth(text: str, nth: int | str | None) -> None:
    assert parse_nth(text) == nth


def test_nth_weekday() -> None:
    assert nth_weekday(2026, 12, SAT, 1) == date(2026, 12, 5)
    assert nth_weekday(2026, 12, SAT, 2) == date(2026, 12, 12)
    assert nth_weekday(2026, 12, SAT, 4) == date(2026, 12, 26)
    assert nth_weekday(2026, 12, SAT, 5) is None
    assert nth_weekday(2026, 12, SAT, "last") == date(2026, 12, 26)
    assert nth_weekday(2026, 12, SAT, -1) == date(2026, 12, 26)
    assert nth_weekday(2026, 5, SAT, 5) == date(2026, 5, 30)
    assert nth_weekday(2026, 5, SAT, "last") == date(2026, 5, 30)
    # the month starts on the day itself, and ends on it
    assert nth_weekday(2026, 8, SAT, 1) == date(2026, 8, 1)
    assert nth_weekday(2026, 10, SAT, "last") == date(2026, 10, 31)
    # February: four of each in a common year, a fifth Sunday in leap 2032
    assert nth_weekday(2027, 2, SUN, 5) is None
    assert nth_weekday(2032, 2, SUN, 5) == date(2032, 2, 29)
    assert nth_weekday(2027, 2, SUN, "last") == date(2027, 2, 28)


@pytest.mark.parametrize("bad", [0, 6, -2, "first", True])
def test_nth_weekday_bad_nth(bad: object) -> None:
    with pytest.raises(ValueError):
        nth_weekday(2026, 12, SAT, bad)  # type: ignore[arg-type]


def test_nth_weekday_bad_weekday() -> None:
    with pytest.raises(ValueError):
        nth_weekday(2026, 12, 7, 1)


def test_monthly_occurrences() -> None:
    after = NOW.astimezone(UTC)
    found = monthly_occurrences(SAT, 2, time(9), time(12), after, 3, WIB)
    assert found == [
        (local(2026, 12, 12, 9), local(2026, 12, 12, 12)),
        (local(2027, 1, 9, 9), local(2027, 1, 9, 12)),
        (local(2027, 2, 13, 9), local(2027, 2, 13, 12)),
    ]
    assert all(s.tzinfo is UTC and e is not None and e.tzinfo is UTC for s, e in found)


def test_monthly_occurrences_only_after() -> None:
    # the first Saturday of December is gone: two months give one occurrence
    found = monthly_occurrences(SAT, 1, time(9), None, NOW, 2, WIB)
    assert found == [(local(2027, 1, 2, 9), None)]
    # exactly at the start is not after it
    at = local(2026, 12, 12, 9)
    assert monthly_occurrences(SAT, 2, time(9), None, at, 1, WIB) == []
    assert monthly_occurrences(SAT, 2, time(9), None, at - timedelta(seconds=1), 1, WIB) == [
        (at, None)
    ]


def test_monthly_occurrences_fifth_and_last() -> None:
    fifth = monthly_occurrences(SAT, 5, time(9), None, NOW, 12, WIB)
    # December 2026 to November 2027: five Saturdays in January, May, July and October
    assert [s.astimezone(WIB).date() for s, _ in fifth] == [
        date(2027, 1, 30),
        date(2027, 5, 29),
        date(2027, 7, 31),
        date(2027, 10, 30),
    ]
    last = monthly_occurrences(SAT, "last", time(9), None, NOW, 12, WIB)
    assert len(last) == 12
    assert last[0][0] == local(2026, 12, 26, 9)


def test_monthly_occurrences_month_of_after_is_local() -> None:
    # 30 November 2026 20:00 UTC is already 1 December in Jakarta
    after = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    found = monthly_occurrences(SAT, 1, time(9), None, after, 1, WIB)
    assert found == [(local(2026, 12, 5, 9), None)]


def test_monthly_occurrences_refuses() -> None:
    with pytest.raises(ValueError):
        monthly_occurrences(SAT, 1, time(12), time(9), NOW, 1, WIB)
    with pytest.raises(ValueError):
        monthly_occurrences(SAT, 1, time(9), None, NOW, -1, WIB)
    assert monthly_occurrences(SAT, 1, time(9), None, NOW, 0, WIB) == []


# --- holidays ---


def test_known_holidays() -> None:
    assert holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert holiday_name(date(2026, 8, 17), "en") == "Independence Day"
    assert holiday_name(date(2026, 12, 25)) == "Hari Raya Natal"
    assert holiday_name(date(2026, 12, 25), "en") == "Christmas Day"
    assert holiday_name(date(2027, 1, 1)) == "Tahun Baru Masehi"
    assert holiday_name(date(2026, 12, 12)) is None
    assert holiday_name(date(2026, 12, 26)) is None
    assert holiday_name(date(2026, 8, 17), "fr") == "Hari Kemerdekaan Republik Indonesia"


def test_cuti_bersama() -> None:
    christmas_eve = date(2026, 12, 24)
    assert holiday_name(christmas_eve) == "Cuti Bersama Hari Raya Natal"
    assert holiday_name(christmas_eve, "en") == "Christmas Joint Holiday"
    assert is_holiday(christmas_eve)
    assert holiday_name(christmas_eve, collective_leave=False) is None
    assert not is_holiday(christmas_eve, collective_leave=False)


def test_holiday_typed_as_meeting_date() -> None:
    """Flagged with its name, and another day suggested."""
    parsed = when("Kamis 17 Agustus 2028 jam 9")
    day = parsed.start.astimezone(WIB).date()
    assert holiday_name(day) == "Hari Kemerdekaan Republik Indonesia"
    assert suggest_date(day) == date(2028, 8, 18)
    assert suggest_date(day, weekday=3) == date(2028, 8, 24)


def test_suggest_date() -> None:
    assert suggest_date(date(2026, 12, 12)) == date(2026, 12, 12)  # not a holiday
    # Christmas 2026 (Friday), with cuti bersama the day before: Saturday the 26th
    assert suggest_date(date(2026, 12, 25)) == date(2026, 12, 26)
    # Independence Day 2026 is a Monday: Tuesday, or the next Monday
    assert suggest_date(date(2026, 8, 17)) == date(2026, 8, 18)
    assert suggest_date(date(2026, 8, 17), weekday=MON) == date(2026, 8, 24)
    # Idul Fitri on the third Saturday of March 2026: the fourth
    assert suggest_date(date(2026, 3, 21), weekday=SAT) == date(2026, 3, 28)
    # Imlek on the first Saturday of February 2027: the second
    assert suggest_date(date(2027, 2, 6), weekday=SAT) == date(2027, 2, 13)
    # Christmas 2027 on the last Saturday: the next (1 January 2028) is a holiday and in
    # another month anyway, so the Saturday before
    assert suggest_date(date(2027, 12, 25), weekday=SAT) == date(2027, 12, 18)
    # not before today
    assert suggest_date(date(2027, 12, 25), weekday=SAT, not_before=date(2027, 12, 20)) == (
        date(2028, 1, 8)
    )
    with pytest.raises(ValueError):
        suggest_date(date(2026, 12, 25), weekday=7)


def test_suggest_date_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A holiday second Saturday -> the third; the first if the third is one too; the fourth
    if the first is one as well."""
    off: set[date] = {date(2026, 12, 12)}
    monkeypatch.setattr(dates, "is_holiday", lambda day, **_: day in off)
    assert suggest_date(date(2026, 12, 12), weekday=SAT) == date(2026, 12, 19)
    off.add(date(2026, 12, 19))
    assert suggest_date(date(2026, 12, 12), weekday=SAT) == date(2026, 12, 5)
    off.add(date(2026, 12, 5))
    assert suggest_date(date(2026, 12, 12), weekday=SAT) == date(2026, 12, 26)
    off.add(date(2026, 12, 26))
    # the whole month: the nearest outside it, later first
    assert suggest_date(date(2026, 12, 12), weekday=SAT) == date(2026, 11, 28)
    # without a weekday: the next day, then the day before
    assert suggest_date(date(2026, 12, 12)) == date(2026, 12, 13)
    off.add(date(2026, 12, 13))
    assert suggest_date(date(2026, 12, 12)) == date(2026, 12, 11)


def test_working_days_after() -> None:
    assert working_days_after(date(2026, 12, 7), 0) == date(2026, 12, 7)
    assert working_days_after(date(2026, 12, 7), 1) == date(2026, 12, 8)
    assert working_days_after(date(2026, 12, 11), 1) == date(2026, 12, 14)  # over a weekend
    # 24 (cuti bersama), 25 (Christmas), 26-27 (weekend)
    assert working_days_after(date(2026, 12, 23), 1) == date(2026, 12, 28)
    assert working_days_after(date(2026, 12, 23), 1, collective_leave=False) == date(2026, 12, 24)
    # 31 December, then 1 January (New Year) and the weekend
    assert working_days_after(date(2026, 12, 30), 2) == date(2027, 1, 4)
    with pytest.raises(ValueError):
        working_days_after(date(2026, 12, 7), -1)


# --- quiet hours ---


@pytest.mark.parametrize(
    "text, quiet",
    [
        ("21:00-06:00", (time(21), time(6))),
        ("21.00-06.00", (time(21), time(6))),
        (" 21:00 - 06:00 ", (time(21), time(6))),
        ("21:00–06:00", (time(21), time(6))),
        ("21-6", (time(21), time(6))),
        ("22:30 sampai 05:45", (time(22, 30), time(5, 45))),
        ("13:00-15:00", (time(13), time(15))),
        ("20:00-24:00", (time(20), time(0))),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_quiet_hours(text: str, quiet: tuple[time, time] | None) -> None:
    assert parse_quiet_hours(text) == quiet


@pytest.mark.parametrize(
    "text", ["garbage", "21:00", "21:00-", "25:00-06:00", "21:60-06:00", "21:00-21:00", "9-5-1"]
)
def test_parse_quiet_hours_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(text)


NIGHT = (time(21), time(6))
NOON = (time(13), time(15))


@pytest.mark.parametrize(
    "moment, quiet, expected",
    [
        # across midnight
        (local(2026, 12, 7, 12), NIGHT, local(2026, 12, 7, 12)),
        (local(2026, 12, 7, 20, 59), NIGHT, local(2026, 12, 7, 20, 59)),
        (local(2026, 12, 7, 21), NIGHT, local(2026, 12, 8, 6)),
        (local(2026, 12, 7, 23, 30), NIGHT, local(2026, 12, 8, 6)),
        (local(2026, 12, 31, 22), NIGHT, local(2027, 1, 1, 6)),
        (local(2026, 12, 8, 0, 0), NIGHT, local(2026, 12, 8, 6)),
        (local(2026, 12, 8, 5, 59), NIGHT, local(2026, 12, 8, 6)),
        (local(2026, 12, 8, 6), NIGHT, local(2026, 12, 8, 6)),
        # within one day
        (local(2026, 12, 7, 12, 59), NOON, local(2026, 12, 7, 12, 59)),
        (local(2026, 12, 7, 13), NOON, local(2026, 12, 7, 15)),
        (local(2026, 12, 7, 14, 30), NOON, local(2026, 12, 7, 15)),
        (local(2026, 12, 7, 15), NOON, local(2026, 12, 7, 15)),
        (local(2026, 12, 7, 22), NOON, local(2026, 12, 7, 22)),
        # ending at midnight
        (local(2026, 12, 7, 22), (time(20), time(0)), local(2026, 12, 8, 0)),
        (local(2026, 12, 7, 8), (time(20), time(0)), local(2026, 12, 7, 8)),
        # none
        (local(2026, 12, 7, 23), None, local(2026, 12, 7, 23)),
    ],
)
def test_outside_quiet_hours(
    moment: datetime, quiet: tuple[time, time] | None, expected: datetime
) -> None:
    result = outside_quiet_hours(moment.astimezone(UTC), quiet, WIB)
    assert result == expected
    assert result.tzinfo is UTC


def test_outside_quiet_hours_from_the_setting() -> None:
    quiet = parse_quiet_hours("21:00-06:00")
    late = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # 22:00 WIB
    assert outside_quiet_hours(late, quiet, WIB) == datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
    # a naive moment is UTC
    assert outside_quiet_hours(late.replace(tzinfo=None), quiet, WIB) == datetime(
        2026, 12, 7, 23, 0, tzinfo=UTC
    )
