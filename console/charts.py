"""The console's charts: each series of storage/stats.py as a server-side SVG (pygal, no
JavaScript) with the same figures as a table beside it.

Accessibility (issue 13, item 5):

* the SVG is one image for screen readers: ``role="img"``, an ``aria-label`` (the title), a
  ``<title>`` and a ``<desc>`` (the caption); what it shows is read from the table, which holds
  every figure as already-formatted text (months as "Des 2026", money as "Rp1.250.000");
* the colours (:data:`PALETTE`) have at least 4.5:1 contrast against white, and no series is
  told by its colour alone: each has its own fill pattern (solid, stripes, dots, cross-hatch,
  lines; in the bars and in the legend), single bars carry their value, and the table says it
  all again;
* no script: pygal's JavaScript is switched off (``js=[]``), and so are its tooltips.

Every word comes from the catalog (``wlcc/locale/*/LC_MESSAGES/console_charts.po``). A series
with nothing to show gives a :class:`Chart` whose ``svg`` is empty and whose caption says
there is no data yet.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from babel.dates import format_date as babel_format_date
from pygal.style import Style

from storage.complaints import status_label
from storage.stats import (
    ComplaintsMonth,
    KelurahanComplaints,
    LoansPoint,
    MeetingAttendance,
    Month,
    Period,
    SavingsPoint,
)
from wlcc.formatting import format_date, format_money
from wlcc.i18n import Translator

SVG_NS = "http://www.w3.org/2000/svg"

# Dark enough for 4.5:1 against white (tests/test_charts.py measures them).
PALETTE = ("#1d4e89", "#a64d00", "#2b6e2f", "#7b2d8e", "#a8231f")
TEXT = "#333333"
SUBTLE = "#595959"
WIDTH, HEIGHT = 720, 400
_BABEL_LOCALES = {"id": "id_ID", "en": "en_ID"}


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart ready for a page: ``svg`` is complete, escaped SVG markup (embed it as is,
    e.g. ``Markup(chart.svg)``; empty when there is no data), ``caption`` says what it shows
    (or that there is no data yet), and ``headers`` and ``rows`` are its table."""

    name: str  # stable, for ids and CSS: "attendance", "savings", ...
    title: str
    svg: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def empty(self) -> bool:
        return not self.svg


def month_label(month: Month, t: Translator) -> str:
    """ "Des 2026" (Indonesian) or "Dec 2026" (English)."""
    return str(babel_format_date(month.first_day, "MMM y", locale=_BABEL_LOCALES[t.lang]))


def _range(period: Period, t: Translator) -> dict[str, str]:
    return {"start": month_label(period.months[0], t), "end": month_label(period.months[-1], t)}


def _style() -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground=TEXT,
        foreground_strong=TEXT,
        foreground_subtle=SUBTLE,
        colors=PALETTE,
        value_colors=(TEXT,) * len(PALETTE),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        label_font_size=13,
        major_label_font_size=13,
        value_font_size=13,
        legend_font_size=14,
        title_font_size=16,
        opacity="1",
        opacity_hover="1",
        transition="none",
    )


def _pattern(name: str, index: int, color: str) -> str:
    """The fill of series ``index``: solid, then stripes, dots, cross-hatch, lines."""
    pid = f"wlcc-{name}-p{index}"
    shapes = [
        f'<rect width="8" height="8" fill="{color}"/>',
        f'<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="{color}" stroke-width="2.5"/>',
        f'<circle cx="4" cy="4" r="2.2" fill="{color}"/>',
        f'<path d="M0,0 L8,8 M8,0 L0,8" stroke="{color}" stroke-width="1.8"/>',
        f'<path d="M0,2 H8 M0,6 H8" stroke="{color}" stroke-width="1.8"/>',
    ]
    return (
        f'<pattern id="{pid}" width="8" height="8" '
        f'patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#ffffff"/>'
        f"{shapes[index % len(shapes)]}</pattern>"
    )


def _fills_css(name: str, count: int) -> str:
    rules = []
    for i in range(count):
        color = PALETTE[i % len(PALETTE)]
        rules.append(
            f".wlcc-chart-{name} .serie-{i} .rect, .wlcc-chart-{name} .legend rect.color-{i}"
            f"{{fill:url(#wlcc-{name}-p{i}) !important;stroke:{color} !important;"
            "stroke-width:1.5px !important}"
        )
    return "inline:" + "".join(rules)


def _render(
    name: str,
    kind: Any,
    *,
    title: str,
    caption: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    money: bool = False,
    values_on_bars: bool = False,
) -> str:
    formatter: Callable[[float], str] = (
        (lambda v: format_money(int(v))) if money else (lambda v: f"{int(v)}")
    )
    chart = kind(
        js=[],
        disable_xml_declaration=True,
        classes=["pygal-chart", f"wlcc-chart-{name}"],
        style=_style(),
        width=WIDTH,
        height=HEIGHT,
        title=title,
        defs=[_pattern(name, i, PALETTE[i % len(PALETTE)]) for i in range(len(series))],
        css=["file://style.css", "file://graph.css", _fills_css(name, len(series))],
        value_formatter=formatter,
        print_values=values_on_bars,
        print_values_position="top",
        print_zeroes=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series) if len(series) <= 3 else 2,
        truncate_legend=-1,
        x_label_rotation=30 if len(labels) > 6 else 0,
        show_x_guides=False,
        tooltip_border_radius=0,
    )
    chart.x_labels = list(labels)
    for label, values in series:
        chart.add(label, list(values))
    return _accessible(str(chart.render(is_unicode=True)), name=name, title=title, caption=caption)


def _accessible(svg: str, *, name: str, title: str, caption: str) -> str:
    """One image for assistive technology: role, label, title and description; no script,
    and no ids that would repeat when several charts share a page (the legends' JavaScript
    hooks). The root keeps pygal's own unique id: its stylesheet is scoped by it."""
    root = ET.fromstring(svg)  # noqa: S314 (pygal's own output, made here from our figures)
    # Back to plain names under one xmlns, as pygal writes them: ElementTree would otherwise
    # write "ns0:" prefixes, which an HTML page does not understand.
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.startswith(f"{{{SVG_NS}}}"):
            node.tag = node.tag[len(SVG_NS) + 2 :]
    root.set("xmlns", SVG_NS)
    # With js=[] pygal loads no script file, but still writes its config for one: dropped.
    for parent in list(root.iter()):
        for child in [c for c in parent if c.tag == "script"]:
            parent.remove(child)
    root.set("role", "img")
    root.set("aria-label", title)
    root.set("focusable", "false")
    for node in root.iter():
        if node.get("id", "").startswith("activate-serie"):
            del node.attrib["id"]
    heading = root.find("title")
    if heading is None:
        heading = ET.Element("title")
        root.insert(0, heading)
    heading.text = title
    desc = ET.Element("desc")
    desc.text = caption
    root.insert(list(root).index(heading) + 1, desc)
    return ET.tostring(root, encoding="unicode")


def _empty(name: str, title: str, t: Translator, headers: tuple[str, ...]) -> Chart:
    return Chart(name, title, "", t("charts.empty"), headers, ())


# --- the charts ---


def attendance_chart(meetings: Sequence[MeetingAttendance], t: Translator, period: Period) -> Chart:
    """Per meeting: who answered "yes" and who came."""
    title = t("charts.attendance.title")
    headers = (
        t("charts.attendance.date"),
        t("charts.attendance.meeting"),
        t("charts.attendance.rsvp_yes"),
        t("charts.attendance.present"),
    )
    if not meetings:
        return _empty("attendance", title, t, headers)
    caption = t("charts.attendance.caption", **_range(period, t))
    locale = _BABEL_LOCALES[t.lang]
    labels = [str(babel_format_date(m.day, "d MMM", locale=locale)) for m in meetings]
    svg = _render(
        "attendance",
        pygal.Bar,
        title=title,
        caption=caption,
        labels=labels,
        series=[
            (headers[2], [m.rsvp_yes for m in meetings]),
            (headers[3], [m.present for m in meetings]),
        ],
        values_on_bars=True,
    )
    rows = tuple(
        (format_date(m.day, t.lang), m.title, str(m.rsvp_yes), str(m.present)) for m in meetings
    )
    return Chart("attendance", title, svg, caption, headers, rows)


def savings_chart(points: Sequence[SavingsPoint], t: Translator, period: Period) -> Chart:
    """The savings at each month's end, stacked by kind."""
    title = t("charts.savings.title")
    headers = (
        t("charts.month"),
        t("charts.savings.pokok"),
        t("charts.savings.wajib"),
        t("charts.savings.sukarela"),
        t("charts.savings.total"),
    )
    if not any(p.pokok or p.wajib or p.sukarela for p in points):
        return _empty("savings", title, t, headers)
    caption = t("charts.savings.caption", **_range(period, t))
    svg = _render(
        "savings",
        pygal.StackedBar,
        title=title,
        caption=caption,
        labels=[month_label(p.month, t) for p in points],
        series=[
            (headers[1], [p.pokok for p in points]),
            (headers[2], [p.wajib for p in points]),
            (headers[3], [p.sukarela for p in points]),
        ],
        money=True,
    )
    rows = tuple(
        (
            month_label(p.month, t),
            format_money(p.pokok),
            format_money(p.wajib),
            format_money(p.sukarela),
            format_money(p.total),
        )
        for p in points
    )
    return Chart("savings", title, svg, caption, headers, rows)


def loans_chart(points: Sequence[LoansPoint], t: Translator, period: Period) -> Chart:
    """At each month's end: what is still owed on the loans, and how much of it is late."""
    title = t("charts.loans.title")
    headers = (
        t("charts.month"),
        t("charts.loans.outstanding"),
        t("charts.loans.principal"),
        t("charts.loans.overdue"),
    )
    if not any(p.outstanding or p.overdue for p in points):
        return _empty("loans", title, t, headers)
    caption = t("charts.loans.caption", **_range(period, t))
    svg = _render(
        "loans",
        pygal.Bar,
        title=title,
        caption=caption,
        labels=[month_label(p.month, t) for p in points],
        series=[
            (headers[1], [p.outstanding for p in points]),
            (headers[3], [p.overdue for p in points]),
        ],
        money=True,
    )
    rows = tuple(
        (
            month_label(p.month, t),
            format_money(p.outstanding),
            format_money(p.principal),
            format_money(p.overdue),
        )
        for p in points
    )
    return Chart("loans", title, svg, caption, headers, rows)


_OPEN = ("received", "verified", "forwarded", "in_progress")


def complaints_status_chart(
    months: Sequence[ComplaintsMonth], t: Translator, period: Period
) -> Chart:
    """The open tickets at each month's end, stacked by status; the table adds the tickets
    that came in and were resolved within each month."""
    title = t("charts.complaints_status.title")
    headers = (
        t("charts.month"),
        *(status_label(t, status) for status in _OPEN),
        t("charts.complaints_status.opened"),
        t("charts.complaints_status.resolved"),
    )
    if not any(m.open or m.opened or m.resolved for m in months):
        return _empty("complaints_status", title, t, headers)
    caption = t("charts.complaints_status.caption", **_range(period, t))
    svg = _render(
        "complaints_status",
        pygal.StackedBar,
        title=title,
        caption=caption,
        labels=[month_label(m.month, t) for m in months],
        series=[(status_label(t, status), [m.count(status) for m in months]) for status in _OPEN],
    )
    rows = tuple(
        (
            month_label(m.month, t),
            *(str(m.count(status)) for status in _OPEN),
            str(m.opened),
            str(m.resolved),
        )
        for m in months
    )
    return Chart("complaints_status", title, svg, caption, headers, rows)


def complaints_kelurahan_chart(
    places: Sequence[KelurahanComplaints], t: Translator, period: Period
) -> Chart:
    """The tickets of the period per kelurahan, by what they are now."""
    title = t("charts.complaints_kelurahan.title")
    headers = (
        t("charts.complaints_kelurahan.kelurahan"),
        t("charts.complaints_kelurahan.open"),
        t("charts.complaints_kelurahan.resolved"),
        t("charts.complaints_kelurahan.closed"),
        t("charts.complaints_kelurahan.total"),
    )
    if not places:
        return _empty("complaints_kelurahan", title, t, headers)
    caption = t("charts.complaints_kelurahan.caption", **_range(period, t))
    names = [p.kelurahan or t("charts.complaints_kelurahan.unknown") for p in places]
    svg = _render(
        "complaints_kelurahan",
        pygal.HorizontalStackedBar,
        title=title,
        caption=caption,
        # Horizontal bars are drawn from the bottom up: reversed, the first row is on top.
        labels=names[::-1],
        series=[
            (headers[1], [p.open for p in places][::-1]),
            (headers[2], [p.resolved for p in places][::-1]),
            (headers[3], [p.closed for p in places][::-1]),
        ],
    )
    rows = tuple(
        (name, str(p.open), str(p.resolved), str(p.closed), str(p.total))
        for name, p in zip(names, places, strict=True)
    )
    return Chart("complaints_kelurahan", title, svg, caption, headers, rows)
