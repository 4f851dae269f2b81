"""console/charts.py: each series of storage/stats.py as an accessible SVG (pygal, no script)
and a table of formatted figures, from rows written by the real storage operations, on
SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from console.charts import (
    PALETTE,
    SUBTLE,
    TEXT,
    Chart,
    attendance_chart,
    complaints_kelurahan_chart,
    complaints_status_chart,
    loans_chart,
    month_label,
    savings_chart,
)
from storage.db import Database
from storage.ledger import LedgerKind, deposit
from storage.meetings import Answer, answer_rsvp, create_meeting, record_attendance
from storage.stats import (
    Month,
    attendance,
    complaints_by_kelurahan,
    complaints_by_status,
    loans,
    months_between,
    savings,
)
from tests.outbox_support import COMMUNITY, add_member, phone
from tests.test_stats import _file, _tickets, utc, wib
from wlcc.i18n import Translator

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 6, 15)
PERIOD = months_between(date(2025, 12, 1), date(2026, 6, 30), today=TODAY)
ID, EN = Translator("id"), Translator("en")


def _contrast(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    lum = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (lum + 0.05)


def _check_svg(chart: Chart) -> ET.Element:
    """The SVG parses, is one labelled image with a title and a description, has no script,
    no repeated JavaScript hooks, and a fill pattern per series."""
    assert chart.svg and not chart.empty
    root = ET.fromstring(chart.svg)  # noqa: S314 (our own output)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == chart.title
    assert f"wlcc-chart-{chart.name}" in (root.get("class") or "").split()
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == chart.title
    assert desc is not None and desc.text == chart.caption
    assert not root.findall(f".//{SVG}script")
    assert "<script" not in chart.svg and "javascript" not in chart.svg.lower()
    assert not [n for n in root.iter() if n.get("id", "").startswith("activate-serie")]
    patterns = [p.get("id") for p in root.iter(f"{SVG}pattern")]
    assert patterns and patterns[0] == f"wlcc-{chart.name}-p0"
    return root


def test_the_colours_meet_wcag_aa_against_white() -> None:
    for color in (*PALETTE, TEXT, SUBTLE):
        assert _contrast(color) >= 4.5, color


def test_months_read_in_each_language() -> None:
    assert month_label(Month(2026, 12), ID) == "Des 2026"
    assert month_label(Month(2026, 12), EN) == "Dec 2026"
    assert month_label(Month(2026, 8), ID) == "Agu 2026"


def test_empty_series_give_no_picture_and_say_so(db: Database) -> None:
    with db.transaction() as session:
        charts = [
            attendance_chart(attendance(session, COMMUNITY, PERIOD), ID, PERIOD),
            savings_chart(savings(session, COMMUNITY, PERIOD), ID, PERIOD),
            loans_chart(loans(session, COMMUNITY, PERIOD), ID, PERIOD),
            complaints_status_chart(complaints_by_status(session, COMMUNITY, PERIOD), ID, PERIOD),
            complaints_kelurahan_chart(
                complaints_by_kelurahan(session, COMMUNITY, PERIOD), EN, PERIOD
            ),
        ]
    for chart in charts:
        assert chart.empty and chart.svg == ""
        assert chart.rows == ()
        assert chart.headers and chart.title
    assert charts[0].caption == "Belum ada data untuk ditampilkan."
    assert charts[-1].caption == "No data to show yet."
    assert charts[-1].title == "Complaints per kelurahan"


def test_savings_chart_and_its_table(db: Database) -> None:
    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        assert siti.id is not None
        for kind, amount, when in [
            (LedgerKind.POKOK, 100_000, wib(2025, 12, 10, 10)),
            (LedgerKind.WAJIB, 1_250_000, utc(2026, 1, 31, 17, 30)),  # 1 February WIB
            (LedgerKind.SUKARELA, 75_000, wib(2026, 3, 5, 10)),
        ]:
            deposit(
                session,
                community_id=COMMUNITY,
                member_id=siti.id,
                kind=kind,
                amount=amount,
                channel="cli",
                now=when,
            )
        points = savings(session, COMMUNITY, PERIOD)
    chart = savings_chart(points, ID, PERIOD)
    _check_svg(chart)
    assert chart.title == "Simpanan anggota"
    assert chart.caption.endswith("Des 2025 sampai Jun 2026.")
    assert chart.headers == (
        "Bulan",
        "Simpanan pokok",
        "Simpanan wajib",
        "Simpanan sukarela",
        "Jumlah",
    )
    assert chart.rows[:4] == (
        ("Des 2025", "Rp100.000", "Rp0", "Rp0", "Rp100.000"),
        ("Jan 2026", "Rp100.000", "Rp0", "Rp0", "Rp100.000"),
        ("Feb 2026", "Rp100.000", "Rp1.250.000", "Rp0", "Rp1.350.000"),
        ("Mar 2026", "Rp100.000", "Rp1.250.000", "Rp75.000", "Rp1.425.000"),
    )
    assert len(chart.rows) == len(PERIOD.months)
    english = savings_chart(points, EN, PERIOD)
    assert english.rows[0] == ("Dec 2025", "Rp100.000", "Rp0", "Rp0", "Rp100.000")
    assert english.headers[0] == "Month"
    assert "Simpanan pokok" in english.svg  # the legend names the series


def test_attendance_chart_and_its_table(db: Database) -> None:
    early = wib(2026, 1, 1, 10)
    with db.transaction() as session:
        a = add_member(session, "Siti", phone(1))
        b = add_member(session, "Ani", phone(2))
        meeting = create_meeting(
            session,
            community_id=COMMUNITY,
            title="Pertemuan bulanan <Februari>",
            starts_at=wib(2026, 2, 14, 9),
            now=early,
        )
        answer_rsvp(session, meeting, a, Answer.YES, now=early)
        answer_rsvp(session, meeting, b, Answer.YES, now=early)
        assert a.id is not None
        record_attendance(session, meeting, [a.id], method="code", now=wib(2026, 2, 14, 9, 30))
        meetings = attendance(session, COMMUNITY, PERIOD)
    chart = attendance_chart(meetings, ID, PERIOD)
    root = _check_svg(chart)
    assert chart.headers == ("Tanggal", "Pertemuan", "Menjawab hadir", "Datang")
    assert chart.rows == (("Sabtu, 14 Februari 2026", "Pertemuan bulanan <Februari>", "2", "1"),)
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "14 Feb" in labels  # the meeting's day under its bars
    assert {"1", "2"} <= set(labels)  # each bar carries its value


def test_loans_chart_and_its_table(db: Database, clean_env: None) -> None:
    from storage.loans import open_loan
    from wlcc.settings import load_settings

    with db.transaction() as session:
        siti = add_member(session, "Siti", phone(1))
        assert siti.id is not None
        open_loan(
            session,
            community_id=COMMUNITY,
            member_id=siti.id,
            principal=1_200_000,
            rate="1",
            months=3,
            start=date(2026, 1, 10),
            channel="cli",
            now=wib(2026, 1, 10, 10),
            settings=load_settings(_env_file=None, wlcc_timezone="Asia/Jakarta"),
        )
        points = loans(session, COMMUNITY, PERIOD)
    chart = loans_chart(points, EN, PERIOD)
    _check_svg(chart)
    assert chart.headers == ("Month", "Still owed", "Principal still owed", "Overdue")
    assert chart.rows[0] == ("Dec 2025", "Rp0", "Rp0", "Rp0")
    assert chart.rows[1] == ("Jan 2026", "Rp1.236.000", "Rp1.200.000", "Rp0")
    assert chart.rows[2] == ("Feb 2026", "Rp1.236.000", "Rp1.200.000", "Rp412.000")
    assert chart.rows[-1] == ("Jun 2026", "Rp1.236.000", "Rp1.200.000", "Rp1.236.000")


def test_complaint_charts_and_their_tables(db: Database) -> None:
    _tickets(db)
    with db.transaction() as session:
        _file(session, wib(2026, 5, 1, 10), kelurahan="", pin=True)  # no kelurahan known
        months = complaints_by_status(session, COMMUNITY, PERIOD)
        places = complaints_by_kelurahan(session, COMMUNITY, PERIOD)
    status = complaints_status_chart(months, ID, PERIOD)
    _check_svg(status)
    assert status.headers == (
        "Bulan",
        "Diterima",
        "Sudah dicek pengurus",
        *status.headers[3:5],
        "Laporan baru",
        "Selesai bulan ini",
    )
    assert status.rows[0] == ("Des 2025", "0", "1", "0", "0", "0", "0")
    assert status.rows[3] == ("Mar 2026", "1", "0", "1", "1", "1", "0")
    assert status.rows[4] == ("Apr 2026", "1", "0", "0", "1", "0", "1")
    by_place = complaints_kelurahan_chart(places, ID, PERIOD)
    _check_svg(by_place)
    assert by_place.rows == (
        ("23 Ilir", "0", "1", "1", "2"),
        ("24 Ilir", "1", "0", "0", "1"),
        ("Tidak diketahui", "1", "0", "0", "1"),
    )
    assert "Tidak diketahui" in by_place.svg


@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_title_with_markup_is_escaped(lang: str) -> None:
    from storage.stats import MeetingAttendance

    meeting = MeetingAttendance(
        1, utc(2026, 2, 14, 2), date(2026, 2, 14), "<b>&", "pertemuan", 3, 4
    )
    chart = attendance_chart((meeting,), Translator(lang), PERIOD)
    _check_svg(chart)
    assert "<b>" not in chart.svg
    assert chart.rows[0][1] == "<b>&"  # the table holds text; the page escapes it
