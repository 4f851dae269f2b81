"""The browser tests' own plumbing: Chromium opens the live app, and the accessibility check
finds what it must find."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PHONE, AxeCheck, Live


def test_chromium_opens_the_live_app(page: Page, live_server: Live) -> None:
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    body = json.loads(page.locator("body").inner_text())
    assert body == {"status": "ok", "database": "ok", "inbox_failed": 0}
    assert page.url == live_server("/healthz")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_a_phone_sized_page(page: Page) -> None:
    page.set_content("<p>Halo</p>")
    assert page.evaluate("() => [window.innerWidth, window.innerHeight]") == [360, 740]


BROKEN = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Formulir</title></head>
<body><main>
  <h1>Daftar</h1>
  <input type="text" name="nama">
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
</main></body></html>"""

FIXED = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Formulir</title></head>
<body><main>
  <h1>Daftar</h1>
  <label for="nama">Nama</label> <input type="text" id="nama" name="nama">
  <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Logo WLCC">
</main></body></html>"""


def test_axe_finds_an_unlabelled_input_and_an_image_without_alt(
    page: Page, axe_check: AxeCheck
) -> None:
    page.set_content(BROKEN)
    violations = axe_check(page)
    assert {v["id"] for v in violations} >= {"label", "image-alt"}
    assert all(v["impact"] in ("serious", "critical") for v in violations)
    with pytest.raises(AssertionError, match="image-alt"):
        axe_check.assert_clean(page)


def test_axe_passes_the_same_page_fixed(page: Page, axe_check: AxeCheck) -> None:
    page.set_content(FIXED)
    axe_check.assert_clean(page)


def test_axe_runs_under_a_strict_content_security_policy(page: Page, axe_check: AxeCheck) -> None:
    csp = "<meta http-equiv='Content-Security-Policy' content=\"script-src 'none'\">"
    page.set_content(BROKEN.replace("<head>", "<head>" + csp))
    assert "image-alt" in {v["id"] for v in axe_check(page)}
