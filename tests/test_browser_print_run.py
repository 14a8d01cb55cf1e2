"""A clerk starts a print run in a real headless Chromium, watches it made, downloads it."""

from __future__ import annotations

import os

import pyotp
import pypdfium2
import pytest
from flask import Flask
from playwright.sync_api import Browser, expect

from ehrenamt.extensions import db
from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.test_browser import browser_context_args, browser_type_launch_args
from tests.test_print_runs import active_card

pytestmark = [pytest.mark.browser, pytest.mark.worker]

__all__ = ["browser_context_args", "browser_type_launch_args"]  # the fixtures, imported

#: Where the journey leaves its screenshot for a person to look at, if set.
SCREENSHOTS = os.environ.get("EHRENAMT_SCREENSHOTS")


def test_clerk_starts_a_print_run_sees_progress_and_downloads_it(
    app: Flask, live_server: str, browser: Browser
) -> None:
    with app.app_context():
        office = make_office()
        office.postal_address = "Zerbster Straße 4\n06844 Dessau-Roßlau"
        db.session.commit()
        for _ in range(12):
            active_card(office)
        clerk = make_user(
            UserRole.CLERK, office, email="druck@stadt.example.org", password="geheim-und-lang"
        )
        secret = clerk.totp_secret or ""

    staff = browser.new_context(locale="de-DE", accept_downloads=True).new_page()
    staff.goto(f"{live_server}/anmelden")
    staff.get_by_label("E-Mail-Adresse").fill("druck@stadt.example.org")
    staff.get_by_label("Passwort").fill("geheim-und-lang")
    staff.get_by_role("button", name="Anmelden").click()
    staff.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(secret).now())
    staff.get_by_role("button", name="Bestätigen").click()

    staff.get_by_role("link", name="Papierantrag").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Papierantrag erfassen")
    if SCREENSHOTS:
        staff.screenshot(path=os.path.join(SCREENSHOTS, "paper-form.png"), full_page=True)
    staff.get_by_role("link", name="Briefe").click()
    if SCREENSHOTS:
        staff.screenshot(path=os.path.join(SCREENSHOTS, "letters.png"), full_page=True)
    staff.get_by_role("link", name="Druckauftrag für Karten mit Anschreiben starten").click()
    staff.get_by_label("Karten aus dem Kartenregister (Suche und Status)").check()
    staff.get_by_label("A4-Bögen mit je 10 Karten und Schnittmarken").check()
    staff.get_by_role("button", name="Druckauftrag starten").click()

    expect(staff.get_by_role("heading", name="Fortschritt")).to_be_visible()
    expect(staff.locator("#print-bar")).to_have_attribute("max", "12")
    # The page polls and reloads itself once the worker is done.
    expect(staff.locator("#print-run-ready")).to_have_text("Fertig: 16 Seiten.", timeout=60_000)
    if SCREENSHOTS:
        staff.screenshot(path=os.path.join(SCREENSHOTS, "print-run.png"), full_page=True)
    with staff.expect_download() as download_info:
        staff.get_by_role("link", name="PDF herunterladen").click()
    pdf = pypdfium2.PdfDocument(download_info.value.path())
    try:
        assert len(pdf) == 16
    finally:
        pdf.close()

    staff.get_by_role("button", name="Versand bestätigen").click()
    expect(staff.locator("#print-run-posted")).to_contain_text("Versandt am")
    staff.context.close()
