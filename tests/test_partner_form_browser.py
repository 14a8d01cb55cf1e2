"""The shop owner's registration as a person sees it in Chromium: a web address typed
without https:// goes through, a wrong one is named once at its field, no coordinate
fields, and the confirmation link from the mail lists the partner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright, expect
from sqlalchemy import select

from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import Partner, UserRole
from ehrenamt.partners import categories
from ehrenamt.partners import registration as partners_registration
from ehrenamt.workflow import Actor
from tests.factories import PASSWORD, make_office, make_user
from tests.test_partner_form import WEB_ADDRESS_ERROR, confirmation_paths
from tests.test_verify_pages import plain_browser

#: Where the screenshots go for a person to look at (a temporary folder by default).
SHOTS = os.environ.get("EHRENAMT_SCREENSHOTS")


def _fill_registration(page: Page, website: str) -> None:
    page.get_by_label("Name der Akzeptanzstelle").fill("Kino am Markt")
    page.get_by_label("Kategorie").select_option(index=1)
    page.get_by_label("Straße und Hausnummer").fill("Markt 1")
    page.get_by_label("Postleitzahl").fill("06844")
    page.get_by_label("Ort", exact=True).fill("Dessau-Roßlau")
    page.get_by_label("Website (optional)").fill(website)
    page.get_by_label("Titel der Vergünstigung").first.fill("2 € Rabatt")
    page.get_by_label("Ihr Name (Ansprechperson)").fill("Karla Kino")
    page.get_by_label("E-Mail-Adresse (Kontakt und Anmeldung)").fill("kino@example.org")
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)


@pytest.mark.browser
def test_registration_in_the_browser(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        make_office()
        categories.ensure_categories()
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/akzeptanzstelle/registrieren")
        expect(page.get_by_label("Breitengrad (optional)")).to_have_count(0)
        _fill_registration(page, "beispiel")
        page.get_by_role("button", name="Registrieren").click()
        expect(page.locator("#error-summary")).to_be_focused()
        error = page.locator("#website-error")
        expect(error).to_have_text(WEB_ADDRESS_ERROR)
        expect(page.get_by_label("Website (optional)")).to_have_value("beispiel")
        error.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "website-error-390.png"))
        # Shown once at the field, once in the summary: never twice at the field.
        expect(page.get_by_text(WEB_ADDRESS_ERROR, exact=False)).to_have_count(2)

        page.get_by_label("Website (optional)").fill("www.kino-dessau.de")
        page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        page.get_by_label("Passwort wiederholen").fill(PASSWORD)
        page.get_by_role("button", name="Registrieren").click()
        expect(page.get_by_role("heading", name="Registrierung eingegangen")).to_be_visible()
        expect(page.get_by_text("Bitte bestätigen Sie Ihre E-Mail-Adresse:")).to_be_visible()
        page.screenshot(path=str(shots / "registered-390.png"))

        # Signed in, the pending partner sees why it is not listed yet and asks again.
        page.goto(f"{live_server}/anmelden")
        page.get_by_label("E-Mail-Adresse").fill("kino@example.org")
        page.get_by_label("Passwort").fill(PASSWORD)
        page.locator("main").get_by_role("button", name="Anmelden").click()
        panel = page.locator("[data-email-unconfirmed]")
        expect(panel).to_contain_text("kino@example.org")
        page.screenshot(path=str(shots / "partner-status-390.png"), full_page=True)
        panel.get_by_role("button", name="Bestätigungslink erneut senden").click()
        expect(
            page.get_by_text("Wir haben Ihnen einen neuen Bestätigungslink geschickt.")
        ).to_be_visible()

        with app.app_context():
            partner = db.session.scalar(select(Partner))
            assert partner is not None and partner.website == "https://www.kino-dessau.de"
            assert partner.latitude is not None
            staff = make_user(UserRole.CLERK, partner.office)
            partners_registration.approve_partner(partner, Acting.user_as(staff, Actor.CLERK))
            _first, second = confirmation_paths("kino@example.org")
        path = second  # the newer link; the first one works as well until it expires

        page.goto(f"{live_server}/verguenstigungen/")
        expect(page.get_by_text("Kino am Markt")).to_have_count(0)

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server}{path}")
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_role("heading", name="E-Mail-Adresse bestätigt")).to_be_visible()
        page.screenshot(path=str(shots / "email-confirmed-1280.png"))
        page.go_back()  # post/redirect/get: Back shows the link's page, no resubmission
        page.goto(f"{live_server}{path}")
        page.get_by_role("button", name="Weiter").click()
        expect(page.get_by_text("Dieser Link wurde bereits verwendet.")).to_be_visible()
        page.screenshot(path=str(shots / "link-used-1280.png"))

        page.goto(f"{live_server}/verguenstigungen/")
        expect(page.get_by_text("Kino am Markt").first).to_be_visible()
    finally:
        browser.close()
