"""The console's front-end files in the browser: Leaflet, from the npm registry, is served by
the app itself (no CDN) and runs; the login page passes the accessibility check on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import PHONE, AxeCheck, Live

LEAFLET = "/console/static/vendor/leaflet"


def test_leaflet_is_served_by_the_app_and_runs(page: Page, live_server: Live) -> None:
    for name in ("leaflet.js", "leaflet.css", "images/marker-icon.png", "images/layers.png"):
        response = page.request.get(f"{LEAFLET}/{name}")
        assert response.status == 200, f"{name}: {response.status} (did `make install` run?)"
    page.set_content(
        f'<link rel="stylesheet" href="{live_server(LEAFLET + "/leaflet.css")}">'
        f'<script src="{live_server(LEAFLET + "/leaflet.js")}"></script>'
        '<div id="map" style="height: 200px"></div>'
    )
    assert page.evaluate("() => L.version").startswith("1.9.")
    # A map without tiles (the console's map says when they cannot load): Leaflet draws it.
    page.evaluate("() => L.map('map').setView([-2.99, 104.76], 15)")
    assert page.locator("#map.leaflet-container").count() == 1


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_the_login_page_on_a_phone_has_no_serious_accessibility_violation(
    page: Page, live_server: Live, axe_check: AxeCheck
) -> None:
    response = page.goto("/console/login")
    assert response is not None and response.status == 200
    axe_check.assert_clean(page)
    # Nothing wider than the screen: no sideways scrolling at 360 px.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
