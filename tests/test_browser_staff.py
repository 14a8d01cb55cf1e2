"""The staff journey in a real headless Chromium: an admin invites a clerk, the clerk sets
her password from the mail, enrols TOTP, sees her recovery codes and approves an
application; the admin resets her second factor, and she must enrol again.

Screenshots of the staff page go to ``EHRENAMT_SCREENSHOTS`` if set (to look at them),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ehrenamt.models import UserRole
from tests.factories import make_application, make_office, make_user
from tests.mailbox import Mailbox
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
    only_link,
)

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "sehr-geheimes-passwort"
CLERK_EMAIL = "clara.clerk@stadt.example.org"
CLERK_PASSWORD = "claras-eigenes-passwort"


def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("EHRENAMT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(page: Page, live_server: str, email: str, password: str) -> None:
    """The password step only."""
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()


def enrol(page: Page) -> None:
    """Set up the authenticator from the secret shown, as the app would compute it."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Zwei-Faktor-Anmeldung einrichten")
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bestätigen").click()


@pytest.mark.worker
def test_admin_invites_clerk_who_enrols_approves_and_is_reset(
    app: Flask, live_server: str, browser: Browser, mailbox: Mailbox, tmp_path: Path
) -> None:
    with app.app_context():
        office = make_office()
        admin = make_user(
            UserRole.ADMIN, office, email="anna.admin@stadt.example.org", password=ADMIN_PASSWORD
        )
        admin_email, admin_secret = admin.email, admin.totp_secret
        application = make_application(office, first_name="Erika", last_name="Ehrenamt")
        public_id = application.public_id
    shots = screenshot_dir(tmp_path)

    # The admin signs in and invites a clerk.
    boss = browser.new_context(locale="de-DE").new_page()
    sign_in(boss, live_server, admin_email, ADMIN_PASSWORD)
    boss.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(admin_secret).now())
    boss.get_by_role("button", name="Bestätigen").click()
    boss.get_by_role("link", name="Mitarbeitende").click()
    expect(boss.get_by_role("heading", level=1)).to_contain_text("Mitarbeitende")
    boss.get_by_label("Name").fill("Clara Clerk")
    boss.get_by_label("E-Mail-Adresse").fill(CLERK_EMAIL)
    boss.get_by_label("Rolle").select_option("clerk")
    boss.get_by_role("button", name="Einladen").click()
    expect(boss.get_by_text("Die Einladung ist versendet.")).to_be_visible()
    row = boss.get_by_role("row").filter(has_text=CLERK_EMAIL)
    expect(row).to_contain_text("Sachbearbeitung")
    expect(row).to_contain_text("noch nie")
    expect(row).to_contain_text("nicht eingerichtet")

    # The clerk sets her password from the mail, signs in and enrols her authenticator.
    clerk = browser.new_context(locale="de-DE").new_page()
    clerk.goto(only_link(mailbox, CLERK_EMAIL, "Einladung", "/einladung/"))
    clerk.get_by_label("Neues Passwort").fill(CLERK_PASSWORD)
    clerk.get_by_label("Passwort wiederholen").fill(CLERK_PASSWORD)
    clerk.get_by_role("button", name="Passwort speichern").click()
    expect(clerk.get_by_text("Ihr Passwort ist festgelegt.")).to_be_visible()
    sign_in(clerk, live_server, CLERK_EMAIL, CLERK_PASSWORD)
    enrol(clerk)
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Ihre Wiederherstellungscodes")
    expect(clerk.locator("#recovery-codes li")).to_have_count(10)
    clerk.screenshot(path=str(shots / "recovery-codes.png"), full_page=True)
    clerk.get_by_role("link", name="Ich habe die Codes aufbewahrt – weiter").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Anträge")
    expect(clerk.get_by_role("link", name="Mitarbeitende")).to_have_count(0)

    # She approves the application of her office.
    clerk.goto(f"{live_server}/verwaltung/antrag/{public_id}")
    clerk.get_by_role("button", name="Bewilligen").click()
    expect(clerk.locator("#application-status")).to_have_attribute("data-state", "approved")

    # The admin sees her enrolled and signed in, and resets her second factor.
    boss.goto(f"{live_server}/verwaltung/mitarbeitende/")
    row = boss.get_by_role("row").filter(has_text=CLERK_EMAIL)
    expect(row).to_contain_text("eingerichtet")
    expect(row).not_to_contain_text("nicht eingerichtet")
    expect(row).not_to_contain_text("noch nie")
    boss.screenshot(path=str(shots / "staff-page.png"), full_page=True)
    row.get_by_role("link", name="Clara Clerk").click()
    expect(boss.get_by_text("10 Wiederherstellungscodes übrig")).to_be_visible()
    boss.get_by_role("button", name="Zweiten Faktor zurücksetzen").click()
    expect(boss.get_by_text("Der zweite Faktor ist zurückgesetzt.")).to_be_visible()
    boss.screenshot(path=str(shots / "staff-member.png"), full_page=True)
    mailbox.wait_for(to=CLERK_EMAIL, subject="Zugang zur Ehrenamtskarte wurde geändert")

    # Her session has ended; at the next sign-in she must enrol again.
    clerk.reload()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Anmelden")
    sign_in(clerk, live_server, CLERK_EMAIL, CLERK_PASSWORD)
    enrol(clerk)
    expect(clerk.locator("#recovery-codes li")).to_have_count(10)
    boss.context.close()
    clerk.context.close()
