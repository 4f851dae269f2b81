"""Importing members from a CSV file in the console, in Chromium, as a coordinator does it: a file
with one bad line gets a report by line number and imports nothing; the corrected file imports
every member.

Written before the members pages were merged: skipped (with the reason) until the route
/console/members/import exists, so it runs as soon as they land. It finds the form by what a
person sees (the file field, the page's buttons) and checks the result in the database; if the
pages name things differently, adjust the locators here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlmodel import col, func, select

from console.web import feature_routers
from storage.models import Member
from tests.browser.conftest import Live
from tests.browser.console_pages import staff_page

IMPORT_PATH = "/console/members/import"


def _import_page_exists() -> bool:
    return any(
        getattr(route, "path", None) == IMPORT_PATH
        for router in feature_routers()
        for route in router.routes
    )


pytestmark = [
    pytest.mark.skipif(
        not _import_page_exists(),
        reason=f"the members pages are not merged yet ({IMPORT_PATH} does not exist)",
    ),
    # The import itself is storage/member_import.py, tested on both backends; the page once.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

HEADER = "name,phone,kelurahan,role\n"
GOOD = HEADER + "Sri Rahayu,0812-5555-0001,23 Ilir,member\nNur Aini,0812-5555-0002,19 Ilir,\n"
# Line 3 has a phone number nobody can call.
BAD = HEADER + "Sri Rahayu,0812-5555-0001,23 Ilir,member\nNur Aini,12ab,19 Ilir,\n"
NAMES = ("Sri Rahayu", "Nur Aini")


def imported(live: Live) -> int:
    with live.db.transaction() as session:
        return int(
            session.exec(
                select(func.count()).select_from(Member).where(col(Member.name).in_(NAMES))
            ).one()
        )


def file_field(page: Page) -> Locator:
    labelled = page.get_by_label(re.compile(r"CSV|berkas|file", re.IGNORECASE))
    field = labelled.and_(page.locator("input[type=file]"))
    return field if field.count() else page.locator("main input[type=file]")


def upload(page: Page, name: str, content: str) -> None:
    field = file_field(page)
    expect(field).to_have_count(1)
    field.set_input_files({"name": name, "mimeType": "text/csv", "buffer": content.encode("utf-8")})
    field.locator("xpath=ancestor::form").get_by_role("button").last.click()


def confirm_if_asked(page: Page, live: Live, done: Callable[[], bool]) -> None:
    """Some imports show what they will do and ask first: press the form's button until the
    members are there (at most twice)."""
    for _ in range(2):
        if done():
            return
        buttons = page.locator("main form").get_by_role("button")
        if not buttons.count():
            return
        buttons.first.click()
        page.wait_for_load_state("load")


def test_import_members_from_a_csv_file_line_by_line(
    new_page: Callable[..., Page], live_server: Live
) -> None:
    page = staff_page(new_page, live_server, "coordinator")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Anggota").click()
    page.goto(IMPORT_PATH)  # a link on the members page, or its own page

    upload(page, "anggota-salah.csv", BAD)
    report = page.locator("main")
    expect(report).to_contain_text(re.compile(r"\b3\b"))  # the bad line, by its number
    assert imported(live_server) == 0, "a file with a bad line imported something"

    page.goto(IMPORT_PATH)
    upload(page, "anggota.csv", GOOD)
    confirm_if_asked(page, live_server, lambda: imported(live_server) == 2)
    assert imported(live_server) == 2
    expect(page.locator("main")).to_contain_text("2")
