"""Using the staff console in the browser as a person does: logging in with the code that
arrived in her Telegram chat, and the checks every page gets (accessibility, no sideways
scrolling on a phone and at 200% zoom, the keyboard).

Words on the page are matched in Bahasa Indonesia (the console's first language; the browser
contexts say ``id-ID``).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route, ViewportSize, expect

from tests.browser.conftest import DESKTOP, PHONE, Live
from tests.console_support import NUMBERS, add_staff, staff_phone

CODE = re.compile(r"\b(\d{6})\b")
# 200% zoom on a 1280x800 screen: the page is laid out in 640x400 CSS pixels, drawn at twice
# the density (what Chromium's zoom does to a page's layout).
ZOOMED = {"width": 640, "height": 400}


def size(viewport: dict[str, int]) -> ViewportSize:
    """One of the sizes (conftest's DESKTOP, PHONE; ZOOMED) as Playwright types it."""
    return ViewportSize(width=viewport["width"], height=viewport["height"])


SIZES = {"desktop": size(DESKTOP), "phone": size(PHONE), "200% zoom": size(ZOOMED)}
WAIT_SECONDS = 10.0  # for what the sender delivers to the fake Telegram


def chat_of(role: str) -> int:
    """The Telegram chat of the staff member ``add_staff(db, role)`` adds."""
    return 7000 + NUMBERS[role]


def texts_to(live: Live, chat_id: int) -> list[str]:
    return live.telegram.texts(chat_id)


def wait_for_text(live: Live, chat_id: int, pattern: str, *, after: int = 0) -> str:
    """The first message to ``chat_id`` (after the first ``after`` ones) that matches
    ``pattern``, waiting for the sender to deliver it."""
    wanted = re.compile(pattern)

    def found() -> str | None:
        for text in texts_to(live, chat_id)[after:]:
            if wanted.search(text):
                return text
        return None

    live.telegram.wait_until(
        lambda _: found() is not None, WAIT_SECONDS, f"a message to {chat_id} like {pattern!r}"
    )
    text = found()
    assert text is not None
    return text


def offline(context: BrowserContext, live: Live) -> None:
    """Only the live server answers: other sites (the map's tiles) fail at once, as without
    internet, instead of making the test wait for a network that may not be there."""

    def refuse(route: Route) -> None:
        route.abort()

    context.route(lambda url: not url.startswith(live.url), refuse)


def login(page: Page, live: Live, role: str) -> None:
    """Log in as the staff member of ``role`` (added with ``add_staff``) with the code that
    arrives in her Telegram chat, as she does: phone, "Kirim kode", the code, "Masuk"."""
    chat = chat_of(role)
    before = len(texts_to(live, chat))
    page.goto("/console/login")
    by_code = page.get_by_role("region", name="Dengan kode lewat chat")
    by_code.get_by_label("Nomor HP").fill(staff_phone(role))
    by_code.get_by_role("button", name="Kirim kode").click()
    expect(page.get_by_role("status")).to_contain_text("Kode sudah dikirim")
    message = wait_for_text(live, chat, r"\b\d{6}\b", after=before)
    match = CODE.search(message)
    assert match is not None, message
    page.get_by_label("Kode dari chat").fill(match.group(1))
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(live("/console/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")


def staff_page(new_page: Any, live: Live, role: str, *, add: bool = True) -> Page:
    """A page of its own, logged in as ``role`` (added first unless ``add`` is false)."""
    if add:
        add_staff(live.db, role)
    page: Page = new_page()
    offline(page.context, live)
    login(page, live, role)
    return page


def sideways(page: Page) -> str | None:
    """Why the page scrolls sideways (its width against the window's and the widest
    elements), or None when it does not."""
    found: dict[str, Any] = page.evaluate(
        """() => {
            const width = document.documentElement.scrollWidth, inner = window.innerWidth;
            const wide = [];
            if (width > inner + 1) {
                for (const el of document.body.querySelectorAll('*')) {
                    const box = el.getBoundingClientRect();
                    if (box.right > inner + 1 && el.offsetParent !== null) {
                        wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                            (el.className && typeof el.className === 'string'
                                ? '.' + el.className.split(' ').join('.') : '') +
                            ' right=' + Math.round(box.right));
                    }
                }
            }
            return {width, inner, wide: wide.slice(0, 8)};
        }"""
    )
    if found["width"] <= found["inner"] + 1:
        return None
    return f"{page.url}: {found['width']} px wide in {found['inner']} px: {found['wide']}"


def focus_ring(page: Page) -> dict[str, str]:
    """What has the keyboard's focus, and how it shows."""
    result: dict[str, str] = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {
                tag: el.tagName.toLowerCase(),
                id: el.id || '',
                cls: el.className || '',
                href: el.getAttribute('href') || '',
                outline: style.outlineStyle,
                width: style.outlineWidth,
                visible: String(box.left >= 0 && box.top >= 0 && box.width > 0
                    && box.right <= window.innerWidth),
            };
        }"""
    )
    return result


def first_tab_is_the_skip_link(page: Page) -> None:
    """From the top of the page, the first Tab goes to "Langsung ke isi halaman", which shows
    (on the screen, with a focus ring), and Enter on it moves to the page's main part."""
    page.locator("body").focus()
    page.keyboard.press("Tab")
    ring = focus_ring(page)
    assert ring["cls"] == "skip" and ring["href"] == "#main", (page.url, ring)
    assert ring["outline"] != "none" and ring["width"] != "0px", (page.url, ring)
    assert ring["visible"] == "true", (page.url, ring)
    page.keyboard.press("Enter")
    # The jump to #main is asynchronous in Chromium: wait for it (a failure times out).
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'")


def tab_through(page: Page, *, until: str, limit: int = 40) -> list[str]:
    """Press Tab until the focus is on an element matching the CSS selector ``until``; every
    element on the way must show a focus ring. The stops, as ``tag#id``."""
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        ring = focus_ring(page)
        stop = ring["tag"] + (f"#{ring['id']}" if ring["id"] else "")
        stops.append(stop)
        assert ring["outline"] != "none" and ring["width"] != "0px", (page.url, stop, ring)
        if page.evaluate("(selector) => document.activeElement.matches(selector)", until):
            return stops
    raise AssertionError(f"{page.url}: {until} not reached with Tab: {stops}")
