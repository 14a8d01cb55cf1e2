"""The whole journey in a real headless Chromium (Debian's /usr/bin/chromium).

A volunteer applies, confirms the e-mail address from the mail, the organisation
confirms from its mail, a clerk signs in with password and TOTP and approves, and the
volunteer sees the new status. Every mail is read from the real SMTP server.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pyotp
import pypdfium2
import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.helpers import qr_texts
from tests.mailbox import Mailbox, links_in

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, object]) -> dict[str, object]:
    """Debian's Chromium, never a downloaded browser; no background network traffic."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, object]) -> dict[str, object]:
    """A German browser, as most of our visitors use."""
    return {**browser_context_args, "locale": "de-DE"}


def only_link(mailbox: Mailbox, to: str, subject: str, part: str) -> str:
    """The one link containing ``part`` in the mail to ``to``."""
    [message] = mailbox.wait_for(to=to, subject=subject)
    [link] = [url for url in links_in(message) if part in url]
    return link


@pytest.mark.worker
def test_apply_confirm_review_approve_journey(
    app: Flask, live_server: str, browser: Browser, page: Page, mailbox: Mailbox
) -> None:
    """Apply → confirm e-mail → organisation confirms → clerk approves with TOTP → status →
    the worker makes the card → the volunteer downloads the PDF from the account."""
    with app.app_context():
        office = make_office()
        clerk = make_user(
            UserRole.CLERK,
            office,
            email="clerk@stadt.example.org",
            password="sehr-geheimes-passwort",
        )
        clerk_secret = clerk.totp_secret
    volunteer_email = "erika.ehrenamt@example.org"
    organisation_email = "vorstand@tsv.example.org"

    # The volunteer applies.
    page.goto(f"{live_server}/antrag/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Antrag auf die Ehrenamtskarte")
    page.get_by_label("Vorname", exact=True).fill("Erika")
    page.get_by_label("Nachname", exact=True).fill("Ehrenamt")
    page.get_by_label("Geburtsdatum").fill("1985-03-14")
    page.get_by_label("Straße und Hausnummer").fill("Zerbster Straße 4")
    page.get_by_label("Postleitzahl", exact=True).fill("06844")
    page.get_by_label("Ort", exact=True).fill("Dessau-Roßlau")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(volunteer_email)
    page.get_by_label("Name der Organisation").fill("TSV Dessau")
    page.get_by_label("Ansprechperson (Vorstand, Leitung)").fill("Klaus Vorstand")
    page.get_by_label("E-Mail-Adresse der Ansprechperson").fill(organisation_email)
    page.get_by_label("Ihre Tätigkeit").fill("Übungsleiterin Jugendfußball")
    page.get_by_label("Stunden", exact=True).fill("6")
    page.get_by_label("Engagiert seit").fill((date.today() - timedelta(days=4 * 365)).isoformat())
    page.get_by_label("Ich habe die Datenschutzhinweise gelesen", exact=False).check()
    page.get_by_role("button", name="Antrag absenden").click()
    expect(page.locator("#application-status")).to_have_attribute("data-state", "submitted")

    # The volunteer confirms the e-mail address from the mail.
    page.goto(only_link(mailbox, volunteer_email, "E-Mail-Adresse", "/email-bestaetigen/"))
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Ihre E-Mail-Adresse ist bestätigt")).to_be_visible()
    page.get_by_role("link", name="Antrag vom").click()
    expect(page.locator("#application-status")).to_have_text(
        "Wartet auf Bestätigung durch die Organisation"
    )

    # The organisation confirms from its mail, in a browser of its own.
    organisation = browser.new_context(locale="de-DE").new_page()
    organisation.goto(
        only_link(mailbox, organisation_email, "Engagement von Erika Ehrenamt", "/bestaetigung/")
    )
    expect(organisation.locator("#applicant-name")).to_have_text("Erika Ehrenamt")
    expect(organisation.get_by_text("1985")).to_have_count(0)  # no birth date
    expect(organisation.get_by_text("Zerbster")).to_have_count(0)  # no address
    organisation.get_by_label("Ich bestätige das Engagement").check()
    organisation.get_by_role("button", name="Antwort senden").click()
    expect(organisation.locator("#confirmation-result")).to_have_text(
        "Sie haben das Engagement bestätigt."
    )
    organisation.context.close()

    # The clerk signs in with password and TOTP and approves.
    staff = browser.new_context(locale="de-DE").new_page()
    staff.goto(f"{live_server}/anmelden")
    staff.get_by_label("E-Mail-Adresse").fill("clerk@stadt.example.org")
    staff.get_by_label("Passwort").fill("sehr-geheimes-passwort")
    staff.get_by_role("button", name="Anmelden").click()
    staff.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(clerk_secret).now())
    staff.get_by_role("button", name="Bestätigen").click()
    expect(staff.get_by_role("heading", level=1)).to_contain_text("Anträge")
    staff.get_by_role("link", name="Ehrenamt, Erika").click()
    expect(staff.locator("#application-status")).to_have_attribute("data-state", "in_review")
    expect(staff.locator('[data-rule="hours"]')).to_have_attribute("data-outcome", "met")
    staff.get_by_role("button", name="Bewilligen").click()
    expect(staff.locator("#application-status")).to_have_attribute("data-state", "approved")
    expect(staff.locator("#history")).to_contain_text("Bewilligt")
    staff.context.close()

    # The volunteer sees the new status and gets the mail.
    page.reload()
    # Until the worker has made the card, then the application says the card exists.
    expect(page.locator("#application-status")).to_have_text(
        re.compile(r"Bewilligt – (Karte wird erstellt|Ihre Karte ist ausgestellt)")
    )
    mailbox.wait_for(to=volunteer_email, subject="bewilligt")

    # The worker makes the card; the volunteer downloads it from the account.
    mailbox.wait_for(to=volunteer_email, subject="Ehrenamtskarte ist da", timeout=30)
    page.goto(f"{live_server}/konto/")
    expect(page.locator("[data-card-state]")).to_have_attribute("data-card-state", "active")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Karte als PDF zum Ausdrucken").click()
    download = download_info.value
    assert download.suggested_filename.startswith("ehrenamtskarte-")
    assert download.suggested_filename.endswith(".pdf")
    pdf = pypdfium2.PdfDocument(download.path())
    try:
        assert len(pdf) == 2
        width, height = pdf[0].get_size()
        assert (round(width / 72 * 25.4, 1), round(height / 72 * 25.4, 1)) == (85.6, 54.0)
        front = pdf[0].get_textpage().get_text_range()
        assert "Erika Ehrenamt" in front
        # The back's QR code holds the card's URL on this service.
        back = pdf[1].render(scale=8).to_pil()
        [text] = qr_texts(back)
        assert text.startswith(f"{live_server}/karte#")
    finally:
        pdf.close()
