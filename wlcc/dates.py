"""Dates and times as coordinators type them, monthly rules, Indonesian holidays, quiet hours.

Pure functions: no storage, no clock of their own (``now`` is always passed in), no sentences.
What goes wrong comes back as a stable code (``ParseProblem.code``) that the caller words from
the message catalog.

``parse_when`` reads the date and time of one event from free text in Bahasa Indonesia (and
simple English), for example::

    Sabtu 12 Desember jam 9          12 Desember 2026 09.00        12/12 09.00
    12/12/2026 9:30                  12-12-2026 14.00              2026-12-12 09:00
    besok jam 3 sore                 lusa jam 10 pagi              Sabtu depan jam 9
    sabtu jam 09.00                  hari ini jam 7 malam          tanggal 19 pukul 13.30
    Sabtu 12 Des jam 9 sampai 12     12/12 09.00-12.00             12 Des jam 9 s/d selesai
    12 December 9am                  tomorrow 3pm                  next saturday 10am-12pm

The rules, in the order they are read:

* Dates: ``YYYY-MM-DD``; day first with ``/``, ``-`` or ``.`` (``12/12/2026``, ``12-12-26``,
  ``12.12.2026``); day and month with a slash only (``12/12``; ``12.12`` is a time); a day and a
  month name, Indonesian or English, full or short (``12 Desember``, ``12 Des 2026``, ``12th
  December``, ``December 12, 2026``); ``tanggal 19`` / ``tgl 19`` (the next 19th);
  ``hari ini``/``today``, ``besok``/``tomorrow``, ``lusa``/``day after tomorrow``; a day name
  (``Sabtu``, ``Jum'at``, ``Ahad``, ``Sat``), optionally with a day of the month (``Sabtu 19``).
* A year left out means the next such date from today on (``5 Januari`` typed in December is
  next January). A date that is today with a time already gone is ``past``, not next year.
* Day names: ``Sabtu`` (or ``Sabtu ini``, ``Saturday``) is the next Saturday whose time has not
  passed (today counts while the time is still ahead); ``Sabtu depan`` / ``next Saturday`` is
  the first Saturday after today (never today); ``Sabtu minggu depan`` / ``Sabtu pekan depan`` /
  ``Saturday next week`` is the Saturday of next calendar week (Monday to Sunday). ``Minggu`` is
  Sunday, except in ``minggu depan`` next to another day name, where it means "next week".
  A day name given with a date must agree with it (else ``weekday_mismatch``).
* Times: ``jam 9``, ``jam 9.30``, ``pukul 13.30``, ``pkl 9``, ``09.00``, ``9:00``, ``9am``,
  ``3 pm``, ``3 sore``. A bare number is no time: ``09.00`` needs its minutes, ``9`` needs
  ``jam``/``pukul``/``at`` or a part of the day. Without a part of the day the hour is taken as
  written (``jam 3`` is 03:00). Parts of the day: ``pagi`` 0-11; ``siang`` 10-12 as written,
  1-6 are 13:00-18:00; ``sore``/``petang`` 1-9 are 13:00-21:00; ``malam`` 6-11 are
  18:00-23:00, ``12 malam`` and 1-4 ``malam`` are after midnight (the next calendar day);
  ``am``/``pm`` as in English. An hour that does not fit its part of the day (``jam 12 pagi``,
  ``jam 5 malam``) is ``bad_time``, as is ``jam 25`` or ``9.75``.
* An end: ``09.00-12.00``, ``jam 9 sampai 12``, ``jam 9 s/d jam 12``, ``7-9 malam``; ``sampai
  selesai`` (until done) means no end. An end without its part of the day takes the start's
  when that makes it later (``3 sore sampai 5`` ends 17:00), and an end hour below 12 written
  without minutes that would fall before the start is read in the afternoon (``jam 10 sampai
  1`` ends 13:00). Any other end not after the start (``09.00-08.00``) is ``bad_time``.
* Ignored: letter case, commas, words it does not know (``rapat``, ``hari``, ``WIB``). A number
  it cannot place, two dates or two times, or a day word contradicting a date, are
  ``ambiguous``.

The result is in UTC (aware); the text is read in the given zone (Asia/Jakarta).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import holidays
from holidays.constants import GOVERNMENT, PUBLIC

from wlcc.i18n import normalize_language

__all__ = [
    "PROBLEM_CODES",
    "ParseProblem",
    "ParsedWhen",
    "holiday_name",
    "is_holiday",
    "monthly_occurrences",
    "nth_weekday",
    "outside_quiet_hours",
    "parse_nth",
    "parse_quiet_hours",
    "parse_weekday",
    "parse_when",
    "suggest_date",
    "working_days_after",
]

# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

PROBLEM_CODES = frozenset(
    {
        "impossible_date",  # no such day: 31 Februari, 30/2, 32/12, 13/13
        "bad_time",  # no such time (jam 25, 9.75, jam 12 pagi) or an end not after the start
        "ambiguous",  # two dates or two times, a stray number, besok + a different date
        "no_date",  # nothing recognisable as a day
        "weekday_mismatch",  # Jumat 12 Desember 2026, but that is a Saturday
        "no_time",  # a day without a time, while a time is required
        "past",  # before now
    }
)


@dataclass(frozen=True)
class ParsedWhen:
    """When an event is: ``start`` and ``end`` aware UTC; ``end`` None when not given.

    ``has_time`` False (only with ``require_time=False``): ``start`` is local midnight."""

    start: datetime
    end: datetime | None
    has_time: bool


@dataclass(frozen=True)
class ParseProblem:
    """Why a text is not a usable date and time: one of ``PROBLEM_CODES``."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {self.code!r}")


# ---------------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------------

_MONTHS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("januari", "jan", "january"), 1),
        **dict.fromkeys(("februari", "pebruari", "feb", "peb", "february"), 2),
        **dict.fromkeys(("maret", "mar", "march"), 3),
        **dict.fromkeys(("april", "apr"), 4),
        **dict.fromkeys(("mei", "may"), 5),
        **dict.fromkeys(("juni", "jun", "june"), 6),
        **dict.fromkeys(("juli", "jul", "july"), 7),
        **dict.fromkeys(("agustus", "agus", "agu", "agt", "ags", "aug", "august"), 8),
        **dict.fromkeys(("september", "sept", "sep"), 9),
        **dict.fromkeys(("oktober", "okt", "oct", "october"), 10),
        **dict.fromkeys(("november", "nopember", "nov", "nop"), 11),
        **dict.fromkeys(("desember", "des", "dec", "december"), 12),
    }
)

# Python's numbering: 0 Monday ... 6 Sunday.
_WEEKDAYS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(("senin", "sen", "monday", "mon"), 0),
        **dict.fromkeys(("selasa", "sel", "tuesday", "tue", "tues"), 1),
        **dict.fromkeys(("rabu", "rab", "wednesday", "wed"), 2),
        **dict.fromkeys(("kamis", "kam", "thursday", "thu", "thur", "thurs"), 3),
        **dict.fromkeys(("jumat", "jum", "jmt", "friday", "fri"), 4),
        **dict.fromkeys(("sabtu", "sab", "sbt", "saturday", "sat"), 5),
        **dict.fromkeys(("minggu", "min", "mgg", "ahad", "sunday", "sun"), 6),
    }
)

_RELATIVE: Mapping[str, int] = MappingProxyType(
    {
        "hari ini": 0,
        "today": 0,
        "besok": 1,
        "besuk": 1,
        "bsk": 1,
        "esok": 1,
        "tomorrow": 1,
        "lusa": 2,
        "day after tomorrow": 2,
    }
)

_NTH: Mapping[str, int | Literal["last"]] = MappingProxyType(
    {
        **dict.fromkeys(("1", "1st", "first", "pertama", "kesatu", "satu"), 1),
        **dict.fromkeys(("2", "2nd", "second", "kedua", "dua"), 2),
        **dict.fromkeys(("3", "3rd", "third", "ketiga", "tiga"), 3),
        **dict.fromkeys(("4", "4th", "fourth", "keempat", "empat"), 4),
        **dict.fromkeys(("5", "5th", "fifth", "kelima", "lima"), 5),
        **dict.fromkeys(("last", "terakhir", "akhir", "-1"), "last"),
    }
)


def _alternation(words: Mapping[str, object]) -> str:
    """A regex alternation of the keys, longest first so that ``des`` never wins over
    ``desember``."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH_RE = _alternation(_MONTHS)
_WEEKDAY_RE = _alternation(_WEEKDAYS)
_RELATIVE_RE = _alternation(_RELATIVE)
_PERIOD_RE = r"pagi|siang|sore|petang|malam|am|pm"
_RANGE_RE = r"(?:-|s/d|s\.d\.?|sd\b|sampai\b|hingga\b|until\b|till\b|to\b)"

# 2026-12-12 (also with / or .)
_ISO = re.compile(r"(?<![\d.:/-])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.:/-]?\d)")
# 12/12/2026, 12-12-26, 12.12.2026: day first, the same separator twice.
_DMY = re.compile(r"(?<![\d.:/-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d.:/-]?\d)")
# 12/12: a slash only (12.12 is a time, 9-12 a range of hours).
_DM = re.compile(r"(?<![\d.:/-])(\d{1,2})/(\d{1,2})(?![\d/]|[.:]\d)")
# 12 Desember [2026], 12th december, 12-des-2026
_DAY_MONTH = re.compile(
    rf"(?<![\w.:/-])(\d{{1,2}})(?:st|nd|rd|th)?\s*-?\s*({_MONTH_RE})\b\.?"
    rf"(?:\s*-?\s*(\d{{4}})(?![\d.:]))?"
)
# December 12[, 2026]
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_RE})\b\.?\s*(\d{{1,2}})(?:st|nd|rd|th)?(?![\d.:/])(?:\s+(\d{{4}})(?![\d.:]))?"
)
_TANGGAL = re.compile(r"\b(?:tanggal|tgl)\b\.?\s*(\d{1,2})(?![\d.:/]|-\d)")
_RELATIVE_WORDS = re.compile(rf"\b(?:{_RELATIVE_RE})\b")
_WEEKDAY_WORDS = re.compile(
    rf"(?:\b(?P<pre>next|this)\s+)?\b(?P<wd>{_WEEKDAY_RE})\b\.?"
    r"(?:\s+(?:(?:tanggal|tgl)\b\.?\s*)?(?P<dom>\d{1,2})(?![\d.:/]|-\d))?"
    r"(?:\s+(?P<mod>(?:minggu|pekan)\s+depan|next\s+week|this\s+week|depan|berikutnya|ini)\b)?"
)
_TIME = re.compile(
    r"(?<![\w./:-])(?P<prefix>(?:jam|pukul|pkl|pk|at)(?![a-z])\.?\s*)?"
    r"(?P<h1>\d{1,2})(?:[.:](?P<m1>\d{2}))?(?![.:]?\d)"
    rf"(?:\s*(?P<p1>{_PERIOD_RE})\b)?"
    rf"(?:\s*{_RANGE_RE}\s*(?:"
    r"(?P<open>selesai|finish|finished|done)\b"
    r"|(?:(?:jam|pukul|pkl)\b\.?\s*)?(?P<h2>\d{1,2})(?:[.:](?P<m2>\d{2}))?(?![.:]?\d)"
    rf"(?:\s*(?P<p2>{_PERIOD_RE})\b)?"
    r"))?"
)


def _normalize(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).casefold()
    t = re.sub(r"[’‘`´]", "'", t)
    t = re.sub(r"\bjum'at\b", "jumat", t)
    t = re.sub(r"[–—]", "-", t)  # en and em dashes
    t = re.sub(r"\b([ap])\.m\.?", r"\1m", t)  # a.m. / p.m.
    t = re.sub(r"\bdini\s+hari\b", "pagi", t)
    t = re.sub(r"(\d{4}-\d{1,2}-\d{1,2})t(?=\d)", r"\1 ", t)  # ISO 2026-12-12T09:00
    t = re.sub(r"[,;!?()]", " ", t)
    t = re.sub(r"\b(?:wib|wita|wit)\b", " ", t)
    return re.sub(r"\s+", " ", t).strip()


class _Text:
    """The normalised text; what has been understood is blanked out, so that nothing is read
    twice and what is left over can be checked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        found = list(pattern.finditer(self.text))
        for m in found:
            self.blank(m)
        return found

    def blank(self, match: re.Match[str]) -> None:
        start, end = match.span()
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]


# ---------------------------------------------------------------------------------------------
# parse_when
# ---------------------------------------------------------------------------------------------


class _Problem(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class _Clock:
    """A time of day; ``day`` 1 when it falls after midnight (``jam 1 malam``)."""

    hour: int
    minute: int
    day: int = 0

    @property
    def order(self) -> int:
        return self.day * 1440 + self.hour * 60 + self.minute


def _hour(h: int, period: str | None) -> tuple[int, int] | None:
    """(hour 0-23, day offset) for an hour and its part of the day, None if they do not fit."""
    if period is None:
        return (h, 0) if 0 <= h <= 23 else None
    if period in ("am", "pm"):
        if not 1 <= h <= 12:
            return None
        return (h % 12 + (12 if period == "pm" else 0), 0)
    if period == "pagi":
        return (h, 0) if 0 <= h <= 11 else None
    if period == "siang":
        if 10 <= h <= 12 or 13 <= h <= 18:
            return (h, 0)
        return (h + 12, 0) if 1 <= h <= 6 else None
    if period in ("sore", "petang"):
        if 13 <= h <= 21:
            return (h, 0)
        return (h + 12, 0) if 1 <= h <= 9 else None
    # malam
    if 18 <= h <= 23:
        return (h, 0)
    if 6 <= h <= 11:
        return (h + 12, 0)
    if h in (0, 12):
        return (0, 1)
    return (h, 1) if 1 <= h <= 4 else None


def _clock(h: str, m: str | None, period: str | None) -> _Clock | None:
    minute = int(m) if m is not None else 0
    hour = _hour(int(h), period)
    if hour is None or not 0 <= minute <= 59:
        return None
    return _Clock(hour[0], minute, hour[1])


def _read_time(match: re.Match[str]) -> tuple[_Clock, _Clock | None]:
    """The start and optional end of one time match (raises ``bad_time``)."""
    h1, m1, p1 = match["h1"], match["m1"], match["p1"]
    h2, m2, p2 = match["h2"], match["m2"], match["p2"]
    start = _clock(h1, m1, p1)
    if h2 is None:  # no end, or "sampai selesai"
        if start is None:
            raise _Problem("bad_time")
        return start, None
    if p2 is not None:
        end = _clock(h2, m2, p2)
        shared = _clock(h1, m1, p2) if p1 is None and end is not None else None
        if shared is not None and end is not None and shared.order < end.order:
            start = shared  # "7-9 malam": the start shares the end's part of the day
    else:
        end = _clock(h2, m2, p1) if p1 is not None else None  # "3 sore sampai 5"
        if end is None or (start is not None and end.order <= start.order):
            end = _clock(h2, m2, None)  # as written
            if start is not None and end is not None and end.order < start.order and not m2:
                later = _Clock(end.hour + 12, end.minute)  # "jam 10 sampai 1": 13:00
                if end.hour < 12 and later.order > start.order:
                    end = later
    if start is None or end is None or end.order <= start.order:
        raise _Problem("bad_time")
    return start, end


def _valid(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _full_year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) == 2 else year


def _next_date(month: int, day: int, today: date) -> date:
    """The day and month this year if not before today, else next year."""
    if not _valid(2000, month, day):  # 2000 is a leap year: 29 Feb passes here
        raise _Problem("impossible_date")
    for year in (today.year, today.year + 1):
        if _valid(year, month, day) and date(year, month, day) >= today:
            return date(year, month, day)
    raise _Problem("impossible_date")  # 29 Februari when the coming February has none


def _next_day_of_month(day: int, today: date) -> date:
    """The next ``day`` of a month, from today on (skipping months without it)."""
    if not 1 <= day <= 31:
        raise _Problem("impossible_date")
    year, month = today.year, today.month
    for _ in range(3):
        if _valid(year, month, day) and date(year, month, day) >= today:
            return date(year, month, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise _Problem("impossible_date")  # unreachable: some month of three has a 31st


def _explicit_date(match: re.Match[str], pattern: re.Pattern[str], today: date) -> date:
    if pattern is _ISO:
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif pattern is _DMY:
        day, month, year = int(match[1]), int(match[3]), _full_year(match[4])
    elif pattern is _DM:
        return _next_date(int(match[2]), int(match[1]), today)
    elif pattern is _DAY_MONTH:
        day, month = int(match[1]), _MONTHS[match[2]]
        if match[3] is None:
            return _next_date(month, day, today)
        year = int(match[3])
    else:  # _MONTH_DAY
        month, day = _MONTHS[match[1]], int(match[2])
        if match[3] is None:
            return _next_date(month, day, today)
        year = int(match[3])
    if not (1 <= year <= 9999 and _valid(year, month, day)):
        raise _Problem("impossible_date")
    return date(year, month, day)


@dataclass(frozen=True)
class _WeekdayWord:
    weekday: int
    mode: Literal["plain", "next", "next_week"]
    day_of_month: int | None
    word: str


def _weekday_words(text: _Text) -> list[_WeekdayWord]:
    found: list[_WeekdayWord] = []
    for m in text.take(_WEEKDAY_WORDS):
        mod = m["mod"] or ""
        mode: Literal["plain", "next", "next_week"] = "plain"
        if m["pre"] == "next" or mod in ("depan", "berikutnya"):
            mode = "next"
        elif mod in ("next week",) or mod.endswith(" depan"):
            mode = "next_week"
        found.append(
            _WeekdayWord(_WEEKDAYS[m["wd"]], mode, int(m["dom"]) if m["dom"] else None, m["wd"])
        )
    # "minggu depan" next to another day name is "next week", not Sunday.
    if len(found) == 2:
        weeks = [w for w in found if w.word == "minggu" and w.mode == "next" and not w.day_of_month]
        others = [w for w in found if w not in weeks]
        if len(weeks) == 1 and len(others) == 1:
            other = others[0]
            found = [_WeekdayWord(other.weekday, "next_week", other.day_of_month, other.word)]
    return found


def _weekday_date(
    word: _WeekdayWord, today: date, clock: _Clock | None, now_local: datetime, zone: ZoneInfo
) -> date:
    ahead = (word.weekday - today.weekday()) % 7
    if word.mode == "next_week":
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + word.weekday)
    if word.mode == "next":
        return today + timedelta(days=ahead or 7)
    day = today + timedelta(days=ahead)
    if ahead == 0 and clock is not None and _local(day, clock, zone) < now_local:
        day += timedelta(days=7)  # "sabtu jam 9" on Saturday at 10: next week
    return day


def _local(day: date, clock: _Clock, zone: ZoneInfo) -> datetime:
    moment = datetime.combine(day + timedelta(days=clock.day), time(clock.hour, clock.minute))
    return moment.replace(tzinfo=zone)


def parse_when(
    text: str, now: datetime, zone: ZoneInfo, *, require_time: bool = True
) -> ParsedWhen | ParseProblem:
    """The date and time (and optional end) of an event typed in a chat; see the module
    docstring for the forms understood. ``now`` is aware (naive is taken as UTC).

    With ``require_time`` (the default) a date alone is ``no_time``; without it a date alone
    gives ``has_time=False`` and local midnight (then ``past`` only for days before today)."""
    try:
        return _parse_when(text, now, zone, require_time)
    except _Problem as problem:
        return ParseProblem(problem.code)


def _parse_when(text: str, now: datetime, zone: ZoneInfo, require_time: bool) -> ParsedWhen:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now_local = now.astimezone(zone)
    today = now_local.date()
    rest = _Text(_normalize(text))

    dates: list[date] = []
    problems: list[str] = []
    for pattern in (_ISO, _DMY, _DM, _DAY_MONTH, _MONTH_DAY):
        for match in rest.take(pattern):
            try:
                dates.append(_explicit_date(match, pattern, today))
            except _Problem as problem:
                problems.append(problem.code)

    times: list[tuple[_Clock, _Clock | None]] = []
    for match in _TIME.finditer(rest.text):
        is_time = match["prefix"] or match["m1"] or match["p1"] or match["m2"] or match["p2"]
        if not is_time:
            continue
        rest.blank(match)
        try:
            times.append(_read_time(match))
        except _Problem as problem:
            problems.append(problem.code)

    for match in rest.take(_TANGGAL):
        try:
            dates.append(_next_day_of_month(int(match[1]), today))
        except _Problem as problem:
            problems.append(problem.code)
    relative = [today + timedelta(days=_RELATIVE[m[0]]) for m in rest.take(_RELATIVE_WORDS)]
    weekdays = _weekday_words(rest)
    for word in weekdays:
        if word.day_of_month is not None:
            try:
                dates.append(_next_day_of_month(word.day_of_month, today))
            except _Problem as problem:
                problems.append(problem.code)

    for code in ("impossible_date", "bad_time"):
        if code in problems:
            raise _Problem(code)
    if len(dates) > 1 or len(relative) > 1 or len(weekdays) > 1 or len(times) > 1:
        raise _Problem("ambiguous")
    if not (dates or relative or weekdays):
        raise _Problem("no_date")
    if re.search(r"\d", rest.text):
        raise _Problem("ambiguous")  # a number that is neither the date nor the time
    if dates and relative and dates[0] != relative[0]:
        raise _Problem("ambiguous")

    clock, end_clock = times[0] if times else (None, None)
    day = dates[0] if dates else relative[0] if relative else None
    if weekdays:
        if day is None:
            day = _weekday_date(weekdays[0], today, clock, now_local, zone)
        elif day.weekday() != weekdays[0].weekday:
            raise _Problem("weekday_mismatch")
    assert day is not None

    if clock is None:
        if require_time:
            raise _Problem("no_time")
        if day < today:
            raise _Problem("past")
        midnight = datetime.combine(day, time(0)).replace(tzinfo=zone)
        return ParsedWhen(midnight.astimezone(UTC), None, has_time=False)
    start = _local(day, clock, zone)
    if start < now_local:
        raise _Problem("past")
    end = _local(day, end_clock, zone) if end_clock is not None else None
    return ParsedWhen(
        start.astimezone(UTC), end.astimezone(UTC) if end is not None else None, has_time=True
    )


# ---------------------------------------------------------------------------------------------
# Monthly rules
# ---------------------------------------------------------------------------------------------


def parse_weekday(text: str) -> int | None:
    """``sabtu``, ``Sab``, ``saturday``, ``Sat.``, ``hari Sabtu`` -> 5 (0 Monday ... 6 Sunday);
    Indonesian (``Jum'at``, ``Ahad`` too) and English, full or short. None if not a day name."""
    word = _normalize(text).removeprefix("hari ").strip().rstrip(".")
    return _WEEKDAYS.get(word)


def parse_nth(text: str) -> int | Literal["last"] | None:
    """Which one in the month: ``2``, ``2nd``, ``second``, ``kedua``, ``ke-2`` -> 2 (1-5);
    ``last``, ``terakhir``, ``-1`` -> ``"last"``; None otherwise."""
    word = _normalize(text).strip().rstrip(".")
    word = re.sub(r"^ke[-\s]?(\d)$", r"\1", word)
    return _NTH.get(word)


def nth_weekday(year: int, month: int, weekday: int, nth: int | Literal["last"]) -> date | None:
    """The ``nth`` (1-5, ``"last"``; -1 also means last) ``weekday`` (0 Monday) of a month;
    None when the month has no such day (a 5th Saturday in a month with four)."""
    if not 0 <= weekday <= 6:
        raise ValueError(f"weekday is 0 (Monday) to 6 (Sunday), not {weekday!r}")
    days = calendar.monthrange(year, month)[1]
    if nth == "last" or nth == -1:
        last = date(year, month, days)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    if isinstance(nth, bool) or not isinstance(nth, int) or not 1 <= nth <= 5:
        raise ValueError(f"nth is 1 to 5 or 'last', not {nth!r}")
    first = date(year, month, 1)
    day = 1 + (weekday - first.weekday()) % 7 + 7 * (nth - 1)
    return date(year, month, day) if day <= days else None


def monthly_occurrences(
    weekday: int,
    nth: int | Literal["last"],
    start_time: time,
    end_time: time | None,
    after: datetime,
    months: int,
    zone: ZoneInfo,
) -> list[tuple[datetime, datetime | None]]:
    """(start, end) in UTC of a monthly rule in the ``months`` calendar months from the month
    of ``after`` (local), keeping those starting strictly after ``after``. A month without the
    day (a 5th weekday) is skipped. Times are local wall-clock times in ``zone``; an end not
    after the start is a ValueError."""
    if months < 0:
        raise ValueError("months cannot be negative")
    if end_time is not None and end_time <= start_time:
        raise ValueError("the end must be after the start")
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    local = after.astimezone(zone)
    found: list[tuple[datetime, datetime | None]] = []
    for i in range(months):
        year, month = divmod(local.year * 12 + local.month - 1 + i, 12)
        day = nth_weekday(year, month + 1, weekday, nth)
        if day is None:
            continue
        start = datetime.combine(day, start_time.replace(tzinfo=None)).replace(tzinfo=zone)
        if start.astimezone(UTC) <= after:
            continue
        end = None
        if end_time is not None:
            end = datetime.combine(day, end_time.replace(tzinfo=None)).replace(tzinfo=zone)
        found.append((start.astimezone(UTC), end.astimezone(UTC) if end else None))
    return found


# ---------------------------------------------------------------------------------------------
# Holidays
# ---------------------------------------------------------------------------------------------

_HOLIDAY_LANGUAGES = {"id": "id", "en": "en_US"}


@lru_cache(maxsize=128)
def _holidays(year: int, language: str, collective_leave: bool) -> Mapping[date, str]:
    categories = (PUBLIC, GOVERNMENT) if collective_leave else (PUBLIC,)
    found = holidays.country_holidays("ID", years=year, categories=categories, language=language)
    return MappingProxyType(dict(found.items()))


def holiday_name(day: date, lang: str = "id", *, collective_leave: bool = True) -> str | None:
    """The name of the Indonesian holiday on ``day`` in ``lang`` (``id``, ``en``), or None.

    From the ``holidays`` package (country ``ID``; 0.109 is the tested version). Its PUBLIC
    category has the national holidays (libur nasional); its GOVERNMENT category has the
    collective leave days (cuti bersama, ``Cuti Bersama Hari Raya Natal`` / ``Christmas Joint
    Holiday``), listed year by year from 2002 to 2027 as decreed (e.g. 24 December 2026). Both
    count unless ``collective_leave=False``: cuti bersama binds civil servants, and most
    offices and many families take it. Years after the last decree have no cuti bersama yet.
    Islamic holidays not yet confirmed carry the package's ``(perkiraan)`` / ``(estimated)``.
    Two holidays on one day are joined with ``"; "``. Other languages fall back to ``id``."""
    language = _HOLIDAY_LANGUAGES.get(normalize_language(lang), "id")
    return _holidays(day.year, language, collective_leave).get(day)


def is_holiday(day: date, *, collective_leave: bool = True) -> bool:
    """Whether ``day`` is an Indonesian holiday (with cuti bersama unless told otherwise)."""
    return day in _holidays(day.year, "id", collective_leave)


def suggest_date(
    day: date,
    weekday: int | None = None,
    *,
    not_before: date | None = None,
    collective_leave: bool = True,
) -> date:
    """A day instead of a holiday: ``day`` itself when it is none, else the nearest day that is
    not a holiday (and, with ``weekday``, is that weekday).

    The rule: candidates in the same month as ``day`` come first; among them the nearest wins,
    the later one on a tie; only when the month has none, the nearest outside it. With
    ``weekday`` (0 Monday) a holiday second Saturday becomes the third Saturday, or the first
    when the third is a holiday too, or the fourth when both are. Weekends count as ordinary
    days. ``not_before`` (e.g. today) rules out earlier days."""
    if weekday is not None and not 0 <= weekday <= 6:
        raise ValueError(f"weekday is 0 (Monday) to 6 (Sunday), not {weekday!r}")
    candidates = [day + timedelta(days=offset) for offset in range(-62, 63)]
    candidates.sort(
        key=lambda d: ((d.year, d.month) != (day.year, day.month), abs(d - day), d < day)
    )
    for candidate in candidates:
        if weekday is not None and candidate.weekday() != weekday:
            continue
        if not_before is not None and candidate < not_before:
            continue
        if not is_holiday(candidate, collective_leave=collective_leave):
            return candidate
    raise ValueError(f"no day without a holiday near {day.isoformat()}")


def working_days_after(start: date, days: int, *, collective_leave: bool = True) -> date:
    """The day ``days`` working days after ``start`` (Monday to Friday, not a holiday; with cuti
    bersama unless told otherwise). ``days=0`` is ``start`` itself."""
    if days < 0:
        raise ValueError("days cannot be negative")
    day = start
    while days:
        day += timedelta(days=1)
        if day.weekday() < 5 and not is_holiday(day, collective_leave=collective_leave):
            days -= 1
    return day


# ---------------------------------------------------------------------------------------------
# Quiet hours
# ---------------------------------------------------------------------------------------------

_QUIET = re.compile(
    rf"(\d{{1,2}})(?:[.:](\d{{2}}))?\s*{_RANGE_RE}\s*(\d{{1,2}})(?:[.:](\d{{2}}))?",
)


def _time_of_day(hour: str, minute: str | None, *, end: bool) -> time:
    h, m = int(hour), int(minute or 0)
    if end and h == 24 and m == 0:
        return time(0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ValueError(f"{hour}:{minute or '00'} is not a time of day")
    return time(h, m)


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"21:00-06:00"`` -> (21:00, 06:00), local times; also ``21.00-06.00``, ``21-6``,
    ``21:00 sampai 06:00``; 24:00 as the end is midnight. Empty -> None (no quiet hours).
    Anything else, or a start equal to the end, is a ValueError."""
    cleaned = _normalize(text)
    if not cleaned:
        return None
    match = _QUIET.fullmatch(cleaned)
    if match is None:
        raise ValueError(f'write the quiet hours as "21:00-06:00", not {text!r}')
    start = _time_of_day(match[1], match[2], end=False)
    end = _time_of_day(match[3], match[4], end=True)
    if start == end:
        raise ValueError("quiet hours need a start and a different end")
    return start, end


def outside_quiet_hours(
    moment: datetime, quiet: tuple[time, time] | None, zone: ZoneInfo
) -> datetime:
    """``moment`` (in UTC) when it is outside the quiet hours, else the end of that quiet
    period (local, e.g. 06:00 the next morning) in UTC. The window is [start, end): the start
    is quiet, the end is not. A start after the end crosses midnight (21:00-06:00); otherwise
    the window lies within one day (13:00-15:00). A naive moment is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if quiet is None:
        return moment.astimezone(UTC)
    start, end = (t.replace(tzinfo=None) for t in quiet)
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        wake = today if start <= now < end else None
    elif now >= start:
        wake = today + timedelta(days=1)
    elif now < end:
        wake = today
    else:
        wake = None
    if wake is None:
        return moment.astimezone(UTC)
    return datetime.combine(wake, end).replace(tzinfo=zone).astimezone(UTC)
