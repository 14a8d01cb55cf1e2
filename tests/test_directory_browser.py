"""The directory in a real headless Chromium: the search box, "near me" with a granted
geolocation, the map's markers (tiles never load in tests: the list must not need them),
axe-core, and the page at phone size, with and without JavaScript.

Screenshots go to ``EHRENAMT_SCREENSHOTS`` if set (to look at them), else to the test's
temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ehrenamt.extensions import db
from tests.accessibility import AXE
from tests.factories import make_office
from tests.test_accessibility import DESKTOP, PHONE, axe_violations, overflow_problem
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_browser_staff import screenshot_dir
from tests.test_partners import make_partner

pytestmark = pytest.mark.browser

#: Dessau's market square, where the visitor stands.
HERE = {"latitude": 51.835, "longitude": 12.246}


def fill_directory(app: Flask) -> None:
    """Three partners north of the visitor (about 2.4, 8 and 40 km) and one without a place."""
    with app.app_context():
        office = make_office()
        for name, town, km, benefits in (
            ("Bäckerei Süß", "Dessau-Roßlau", 2.4, ("Brötchen gratis", "Kaffee halber Preis")),
            ("Café Müller", "Dessau-Roßlau", 8, ("Kuchen 10 % günstiger",)),
            ("Kino Fern", "Zerbst", 40, ("Eintritt frei",)),
            ("Ohne Ort", "Dessau-Roßlau", None, ("Rabatt",)),
        ):
            # 99999 is in no postcode table: the partner stays without coordinates.
            postcode = "06844" if km is not None else "99999"
            partner, _user = make_partner(
                office, name=name, town=town, postcode=postcode, benefits=benefits
            )
            if km is not None:
                # Set here, not through the partner's form (which locates by postcode).
                partner.latitude = round(HERE["latitude"] + km / 111.32, 6)
                partner.longitude = HERE["longitude"]
        db.session.commit()


def expect_cards(page: Page, names: list[str]) -> None:
    """The result cards name these partners, in this order (waiting for the page that a
    click on "Suchen" loads: reading at once could read the page before it)."""
    expect(page.locator(".partner-card h2")).to_have_text(names)


def test_search_near_me_and_map(
    app: Flask, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    fill_directory(app)
    shots = screenshot_dir(tmp_path)
    context = browser.new_context(
        locale="de-DE", viewport=DESKTOP, geolocation=HERE, permissions=["geolocation"]
    )
    context.add_init_script(path=AXE)
    page = context.new_page()
    page.goto(f"{live_server}/verguenstigungen/")
    search = page.get_by_role("searchbox", name="Was suchen Sie?")
    expect(search).to_be_visible()
    search.fill("baeckerei")
    search.press("Enter")
    expect(page.locator(".partner-card")).to_have_count(1)
    card = page.locator(".partner-card")
    # One card for the partner, both its benefits on it.
    expect(card).to_contain_text("Brötchen gratis")
    expect(card).to_contain_text("Kaffee halber Preis")

    page.get_by_label("Was suchen Sie?").fill("")
    page.get_by_role("button", name="In meiner Nähe").click()
    page.wait_for_url("**lat=51.835**")
    # Within the default 25 km, nearest first, with the distance in German.
    expect_cards(page, ["Bäckerei Süß", "Café Müller"])
    expect(page.locator(".partner-card").first).to_contain_text("2,4 km")
    expect(page.get_by_text("Sortiert nach Entfernung von Ihrem Standort.")).to_be_visible()
    page.get_by_label("Umkreis").select_option("50")
    page.get_by_role("button", name="Suchen").click()
    expect_cards(page, ["Bäckerei Süß", "Café Müller", "Kino Fern"])

    # The map: a marker per listed partner, though no tile could load.
    the_map = page.locator("#directory-map")
    expect(the_map).to_be_visible()
    markers = the_map.locator(".leaflet-marker-icon")
    expect(markers).to_have_count(3)
    expect(the_map.get_by_role("button", name="Café Müller")).to_have_count(1)
    page.screenshot(path=str(shots / "directory-desktop.png"), full_page=True)

    # Tab walks through the markers and out of the map again: no keyboard trap.
    markers.first.focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if not page.evaluate(
            "document.getElementById('directory-map').contains(document.activeElement)"
        ):
            break
    assert not page.evaluate(
        "document.getElementById('directory-map').contains(document.activeElement)"
    )
    # A marker opens a popup linking to the partner's page.
    the_map.get_by_role("button", name="Café Müller").press("Enter")
    expect(the_map.get_by_role("link", name="Café Müller")).to_be_visible()

    assert axe_violations(page) == []
    context.close()


def test_the_directory_on_a_phone_and_without_javascript(
    app: Flask, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    fill_directory(app)
    shots = screenshot_dir(tmp_path)
    phone = browser.new_context(
        locale="en-GB", viewport=PHONE, geolocation=HERE, permissions=["geolocation"]
    )
    phone.add_init_script(path=AXE)
    page = phone.new_page()
    page.goto(f"{live_server}/verguenstigungen/")
    page.get_by_role("button", name="Near me").click()
    page.wait_for_url("**lat=**")
    expect(page.locator(".partner-card").first).to_contain_text("2.4 km")
    expect(page.locator("#directory-map .leaflet-marker-icon")).to_have_count(2)
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / "directory-phone.png"), full_page=True)
    assert axe_violations(page) == []
    phone.close()

    # Without JavaScript: no "near me" button, no map; the postcode or town does the work.
    plain = browser.new_context(locale="de-DE", viewport=PHONE, java_script_enabled=False)
    page = plain.new_page()
    page.goto(f"{live_server}/verguenstigungen/")
    expect(page.get_by_role("button", name="In meiner Nähe")).to_be_hidden()
    page.get_by_label("Postleitzahl oder Ort").fill("Rosslau")
    page.get_by_label("Was suchen Sie?").fill("backerei")
    page.get_by_role("button", name="Suchen").click()
    expect_cards(page, ["Bäckerei Süß"])
    # No empty map box; the radius is there, for a postcode (see below), set to "any".
    expect(page.locator("#directory-map")).to_be_hidden()
    expect(page.get_by_label("Umkreis")).to_have_value("")
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / "directory-phone-no-js.png"), full_page=True)
    plain.close()


@pytest.mark.parametrize(("viewport", "javascript"), [(PHONE, False), (DESKTOP, True)])
def test_a_postcode_with_a_radius_is_the_centre(
    app: Flask,
    live_server: str,
    browser: Browser,
    tmp_path: Path,
    viewport: dict[str, int],
    javascript: bool,
) -> None:
    fill_directory(app)
    shots = screenshot_dir(tmp_path)
    size = "phone" if viewport == PHONE else "desktop"
    # No geolocation granted: the postcode is the only centre there is.
    context = browser.new_context(locale="de-DE", viewport=viewport, java_script_enabled=javascript)
    if javascript:
        context.add_init_script(path=AXE)
    page = context.new_page()
    page.goto(f"{live_server}/verguenstigungen/")
    expect(page.get_by_text("z. B. 06844, Dessau oder 06844 Dessau")).to_be_visible()
    page.get_by_label("Postleitzahl oder Ort").fill("06844 Dessau")
    page.get_by_label("Umkreis").select_option("10")
    page.get_by_role("button", name="Suchen").click()
    # About 1.7 and 6.4 km from the centre of 06844; the cinema (38 km) is outside.
    expect_cards(page, ["Bäckerei Süß", "Café Müller"])
    expect(page.locator(".partner-card .distance")).to_have_text(["1,7 km", "6,4 km"])
    expect(page.locator("#centre-status")).to_have_text(
        "Im Umkreis von 10 km um 06844 Dessau-Roßlau, sortiert nach Entfernung."
    )
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / f"directory-postcode-{size}.png"), full_page=True)
    if javascript:
        assert axe_violations(page) == []

    # A postcode the table does not know: said at the field, which is focusable by name.
    page.get_by_label("Postleitzahl oder Ort").fill("99999")
    page.get_by_role("button", name="Suchen").click()
    place = page.get_by_label("Postleitzahl oder Ort")
    expect(place).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#place-error")).to_contain_text("Die Postleitzahl 99999 ist uns nicht")
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / f"directory-postcode-unknown-{size}.png"), full_page=True)
    if javascript:
        assert axe_violations(page) == []
    context.close()


def test_a_towns_name_with_a_radius_is_the_centre_on_a_phone(
    app: Flask, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    fill_directory(app)
    shots = screenshot_dir(tmp_path)
    context = browser.new_context(locale="de-DE", viewport=PHONE)
    context.add_init_script(path=AXE)
    page = context.new_page()
    page.goto(f"{live_server}/verguenstigungen/")
    expect(page.get_by_text("um Ihren Standort, eine fünfstellige Postleitzahl oder einen Ort"))
    place = page.get_by_label("Postleitzahl oder Ort")
    place.fill("Rosslau")
    page.get_by_label("Umkreis").select_option("10")
    page.get_by_role("button", name="Suchen").click()
    # Around the mean of Dessau-Roßlau's postcodes' centres; the cinema (38 km) is outside.
    expect_cards(page, ["Bäckerei Süß", "Café Müller"])
    expect(page.locator(".partner-card .distance")).to_have_text(["1,7 km", "6,7 km"])
    expect(page.locator("#centre-status")).to_have_text(
        "Im Umkreis von 10 km um Dessau-Roßlau, sortiert nach Entfernung."
    )
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / "directory-town-phone.png"), full_page=True)
    assert axe_violations(page) == []

    # Several towns of that name: the field lists some with their postcodes.
    place.fill("Neustadt")
    page.get_by_role("button", name="Suchen").click()
    expect(place).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#place-error")).to_contain_text("Meinten Sie 35279 Neustadt, 67433")
    assert overflow_problem(page) is None
    page.screenshot(path=str(shots / "directory-town-ambiguous-phone.png"), full_page=True)
    assert axe_violations(page) == []
    context.close()
