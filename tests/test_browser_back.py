"""In a real Chromium (issue #14): Back after sending the application never lands on
"resubmit form?", and a draft saved half done comes back filled, from the mail's link
and from the account's "weiter bearbeiten"."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, Playwright, Request, expect
from sqlalchemy import func, select

from ehrenamt.extensions import db
from ehrenamt.models import Application, ApplicationDraft, OutboxMessage, UserRole
from tests.accessibility import sign_in
from tests.factories import make_office, make_user
from tests.mailbox import LINK, path_of
from tests.test_verify_pages import plain_browser

pytestmark = pytest.mark.browser

#: A folder a person opens to look at the pages.
SHOTS = Path("/tmp/shots/drafts")  # noqa: S108


def _fill_person(page: Page, email: str) -> None:
    page.get_by_label("Vorname", exact=True).fill("Erika")
    page.get_by_label("Nachname", exact=True).fill("Zurück")
    page.get_by_label("Geburtsdatum").fill("1985-03-14")
    page.get_by_label("Straße und Hausnummer").fill("Zerbster Straße 4")
    page.get_by_label("Postleitzahl", exact=True).fill("06844")
    page.get_by_label("Ort", exact=True).fill("Dessau-Roßlau")
    page.get_by_label("E-Mail-Adresse", exact=True).fill(email)


def _posts(page: Page) -> list[str]:
    sent: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.is_navigation_request():
            sent.append(request.url)

    page.on("request", note)
    return sent


def test_back_after_sending_the_application_shows_no_resubmit(
    app: Flask, live_server: str, playwright: Playwright
) -> None:
    with app.app_context():
        make_office()
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/antrag/")
        _fill_person(page, "zurueck@example.org")
        page.get_by_label("Name der Organisation").fill("TSV Dessau")
        page.get_by_label("Ansprechperson (Vorstand, Leitung)").fill("Klaus Vorstand")
        page.get_by_label("E-Mail-Adresse der Ansprechperson").fill("vorstand@tsv.example.org")
        page.get_by_label("Ihre Tätigkeit").fill("Übungsleiterin")
        page.get_by_label("Stunden", exact=True).fill("6")
        page.get_by_label("Engagiert seit").fill(
            (date.today() - timedelta(days=4 * 365)).isoformat()
        )
        page.get_by_label("Ich habe die Datenschutzhinweise gelesen", exact=False).check()
        page.get_by_role("button", name="Antrag absenden").click()
        expect(page.locator("#application-status")).to_have_attribute("data-state", "submitted")
        sent_page = page.url
        assert "/konto/antrag/" in sent_page

        posts = _posts(page)
        page.go_back()
        # Back lands on the form, fetched afresh, not on the answer to a POST.
        expect(page.get_by_role("heading", level=1)).to_have_text("Antrag auf die Ehrenamtskarte")
        page.go_forward()
        expect(page.locator("#application-status")).to_have_attribute("data-state", "submitted")
        assert page.url == sent_page
        assert posts == [], "Back or Forward sent the form again"
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Application)) == 1
    finally:
        browser.close()


def test_a_saved_draft_comes_back_filled(
    app: Flask, live_server: str, playwright: Playwright
) -> None:
    """ "Entwurf speichern" on a half-done form: the message, the form as typed, Back
    without a resubmit; the mailed link fills it in another browser."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        make_office()
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/antrag/")
        _fill_person(page, "entwurf-browser@example.org")
        page.get_by_label("Name der Organisation").fill("Freiwillige Feuerwehr Kochstedt")
        page.get_by_role("button", name="Entwurf speichern").click()
        expect(page.get_by_text("Ihr Entwurf ist gespeichert.")).to_be_visible()
        expect(page.get_by_label("Nachname", exact=True)).to_have_value("Zurück")
        expect(page.get_by_label("Name der Organisation")).to_have_value(
            "Freiwillige Feuerwehr Kochstedt"
        )
        page.screenshot(path=str(SHOTS / "draft-saved-390.png"), full_page=False)
        posts = _posts(page)
        page.go_back()
        page.go_forward()
        assert posts == [], "Back or Forward saved the draft again"

        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(ApplicationDraft)) == 1
            [text] = [
                m.payload["text"]
                for m in db.session.scalars(select(OutboxMessage))
                if m.payload.get("to") == "entwurf-browser@example.org"
            ]
        [link] = [url for url in LINK.findall(text) if "/antrag/entwurf/" in url]
        other = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        other.goto(f"{live_server}{path_of(link)}")
        expect(other.get_by_text("ist geladen")).to_be_visible()
        expect(other.get_by_label("Vorname", exact=True)).to_have_value("Erika")
        expect(other.get_by_label("Name der Organisation")).to_have_value(
            "Freiwillige Feuerwehr Kochstedt"
        )
        assert "/antrag/entwurf/" not in other.url  # the token left the address bar
        other.screenshot(path=str(SHOTS / "draft-opened-390.png"), full_page=True)
    finally:
        browser.close()


def test_the_account_continues_a_draft(
    app: Flask, live_server: str, playwright: Playwright
) -> None:
    """A signed-in volunteer saves a draft; the account lists it, "weiter bearbeiten"
    opens the form filled."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        make_office()
        email = make_user(UserRole.VOLUNTEER).email or ""
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        sign_in(app, page, live_server, email)
        page.goto(f"{live_server}/antrag/")
        page.get_by_label("Nachname", exact=True).fill("Kontoentwurf")
        page.get_by_role("button", name="Entwurf speichern").click()
        expect(page.get_by_text("Ihr Entwurf ist gespeichert.")).to_be_visible()
        page.goto(f"{live_server}/konto/")
        drafts = page.locator("#drafts")
        expect(drafts).to_contain_text("Entwurf vom")
        drafts.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "account-drafts-390.png"), full_page=True)
        # The page fits the phone: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        drafts.get_by_role("link", name="weiter bearbeiten").click()
        expect(page.get_by_label("Nachname", exact=True)).to_have_value("Kontoentwurf")
    finally:
        browser.close()
