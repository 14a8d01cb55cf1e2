"""The office's face in a real headless Chromium: the admin fills in the settings page and
uploads a coat of arms as SVG; every page then shows the logo in its header and the
office's contact and Impressum link in its footer.

Screenshots go to ``EHRENAMT_SCREENSHOTS`` if set (to look at them), else to the test's
temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_browser_staff import ADMIN_PASSWORD, screenshot_dir, sign_in

pytestmark = pytest.mark.browser

COAT_OF_ARMS = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 120">
  <path d="M5 5h90v55c0 30-20 48-45 55C25 108 5 90 5 60z" fill="#fff"/>
  <path d="M50 5v110C25 108 5 90 5 60V5z" fill="#c8102e"/>
  <path d="M5 5h90v55c0 30-20 48-45 55C25 108 5 90 5 60z" fill="none" stroke="#1a1a1a"
        stroke-width="3"/>
  <circle cx="72" cy="45" r="12" fill="#1f6b2f"/>
</svg>"""


def test_the_admin_gives_the_office_its_face(
    app: Flask, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    with app.app_context():
        office = make_office()
        admin = make_user(
            UserRole.ADMIN, office, email="anna.admin@stadt.example.org", password=ADMIN_PASSWORD
        )
        admin_email, admin_secret, slug = admin.email, admin.totp_secret, office.slug
    shots = screenshot_dir(tmp_path)
    svg = tmp_path / "wappen.svg"
    svg.write_text(COAT_OF_ARMS)

    page = browser.new_context(locale="de-DE").new_page()
    sign_in(page, live_server, admin_email, ADMIN_PASSWORD)
    page.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(admin_secret).now())
    page.get_by_role("button", name="Bestätigen").click()
    page.get_by_role("link", name="Ausgabestelle").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ausgabestelle")

    # A wrong e-mail address is answered at the field, and what was typed stays.
    page.get_by_label("Name der Ausgabestelle").fill("Stadt Dessau-Roßlau")
    page.get_by_label("Telefon").fill("0340 204-1234")
    page.get_by_label("E-Mail-Adresse").fill("kein-at-zeichen")
    page.get_by_role("button", name="Einstellungen speichern").click()
    expect(page.locator("#contact_email-error")).to_be_visible()
    expect(page.get_by_label("Telefon")).to_have_value("0340 204-1234")
    page.get_by_label("E-Mail-Adresse").fill("ehrenamt@dessau-rosslau.de")
    page.get_by_label("Postanschrift").fill(
        "Amt für Ehrenamt\nZerbster Straße 4\n06844 Dessau-Roßlau"
    )
    page.get_by_label("Öffnungszeiten").fill("Di 9–12 und 14–18 Uhr\nDo 9–12 Uhr")
    page.get_by_label("Impressum").fill(
        "Stadt Dessau-Roßlau\nvertreten durch den Oberbürgermeister"
    )
    page.get_by_role("button", name="Einstellungen speichern").click()
    expect(page.get_by_text("Die Einstellungen sind gespeichert.")).to_be_visible()

    page.get_by_label("Logo oder Wappen (PNG oder SVG)").set_input_files(str(svg))
    page.get_by_role("button", name="Logo hochladen").click()
    expect(page.get_by_text("Das Logo ist gespeichert.")).to_be_visible()
    preview = page.locator("img.office-logo-preview")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") > 0
    page.screenshot(path=str(shots / "office-settings.png"), full_page=True)

    # A visitor sees the logo in the header, the contact in the footer, the Impressum.
    visitor = browser.new_context(locale="de-DE").new_page()
    visitor.goto(f"{live_server}/")
    logo = visitor.locator("img.brand-logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") > 0
    footer = visitor.locator("footer")
    expect(footer).to_contain_text("0340 204-1234")
    expect(footer).to_contain_text("Do 9–12 Uhr")
    visitor.screenshot(path=str(shots / "office-public.png"), full_page=True)
    footer.get_by_role("link", name="Impressum").click()
    expect(visitor).to_have_url(f"{live_server}/impressum/{slug}")
    expect(visitor.get_by_text("vertreten durch den Oberbürgermeister")).to_be_visible()
    visitor.screenshot(path=str(shots / "office-imprint.png"), full_page=True)
