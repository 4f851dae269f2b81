"""Importing members from a CSV file in the console, in Chromium, as a coordinator does it: a file
with one bad line gets a report by line number and imports nothing; the corrected file is shown
first (what will be added) and imported once confirmed. Both pages pass axe.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, func, select

from storage.models import Member
from tests.browser.conftest import AxeCheck, Live
from tests.browser.console_pages import staff_page

pytestmark = [
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


def upload(page: Page, name: str, content: str) -> None:
    page.get_by_label("File CSV").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": content.encode("utf-8")}
    )
    page.get_by_role("button", name="Periksa file").click()


def test_import_members_from_a_csv_file_line_by_line(
    new_page: Callable[..., Page], live_server: Live, axe_check: AxeCheck
) -> None:
    page = staff_page(new_page, live_server, "coordinator")
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Anggota").click()
    page.get_by_role("link", name="Masukkan anggota dari file CSV").click()

    upload(page, "anggota-salah.csv", BAD)
    expect(page.locator("main")).to_contain_text("Ada 1 baris yang salah")
    line_3 = page.get_by_role("row").filter(has=page.get_by_role("cell", name="3", exact=True))
    expect(line_3).to_have_count(1)  # the bad line, by its number, with what is wrong
    axe_check.assert_clean(page)
    assert imported(live_server) == 0, "a file with a bad line imported something"

    upload(page, "anggota.csv", GOOD)
    expect(page.locator("main")).to_contain_text("2 anggota baru")
    assert imported(live_server) == 0, "the check alone imported something"
    axe_check.assert_clean(page)
    page.get_by_role("button", name="Simpan 2 perubahan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anggota sudah dimasukkan")
    assert imported(live_server) == 2
