"""Where it stands (issue #14, the applicant): the steps with the current one marked, the
application after its card exists, no "gültig bis" beside a revoked card, a renew button
near the end, confirmation before withdrawing, and Back after a form never resubmits."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Playwright, expect

from ehrenamt.cards import lifecycle
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import RevocationReason, UserRole
from ehrenamt.workflow import Actor
from ehrenamt.workflow import ApplicationState as S
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_card_register import active_card, fresh
from tests.test_cards import clerk_of


def current_step(html: str) -> str:
    [step] = re.findall(r'aria-current="step">\s*<span[^>]*>[^<]*</span>\s*([^<]+)<', html)
    return step.strip()


def test_account_marks_the_current_step(client: FlaskClient, ctx: None) -> None:
    application = make_application(make_office(), state=S.AWAITING_CONFIRMATION)
    sign_in(client, application.applicant)
    for path in ("/konto/", f"/konto/antrag/{application.public_id}"):
        html = page_text(client.get(path))
        assert current_step(html) == "Organisationen bestätigen"
        assert 'E-Mail-Adresse bestätigt<span class="visually-hidden"> (erledigt)' in html


def test_application_says_the_card_exists(client: FlaskClient, ctx: None) -> None:
    holder = make_user(UserRole.VOLUNTEER)
    card = active_card(make_office(), holder)
    sign_in(client, holder)
    html = page_text(client.get(f"/konto/antrag/{card.application.public_id}"))
    assert "Bewilligt – Ihre Karte ist ausgestellt" in html
    assert "Karte wird erstellt" not in html
    assert 'aria-current="step"' not in html  # every step done
    assert "Bewilligt – Ihre Karte ist ausgestellt" in page_text(client.get("/konto/"))


def test_revoked_card_has_no_valid_until_and_renewal_is_offered(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    ending = active_card(office, make_user(UserRole.VOLUNTEER))
    ending.valid_until = date.today() + timedelta(days=20)
    db.session.commit()
    holder = ending.holder
    later = active_card(office, holder)
    lifecycle.revoke(
        later, Acting.user_as(clerk_of(later.application), Actor.CLERK), RevocationReason.LOST
    )
    later = fresh(later)
    sign_in(client, holder)

    html = page_text(client.get("/konto/"))

    revoked = html.split(f'data-card="{later.number}"', 1)[1].split("</li>", 1)[0]
    assert "gesperrt" in revoked.lower() and "gültig bis" not in revoked
    assert "Folgeantrag" not in revoked
    renewing = html.split(f'data-card="{ending.number}"', 1)[1].split("</li>", 1)[0]
    assert f'href="/antrag/?erneuern={ending.public_id}"' in renewing
    # A card far from its end gets no button.
    ending = fresh(ending)
    ending.valid_until = date.today() + timedelta(days=400)
    db.session.commit()
    assert "Folgeantrag" not in page_text(client.get("/konto/"))


def test_withdrawing_asks_first(client: FlaskClient, ctx: None) -> None:
    application = make_application(make_office(), state=S.AWAITING_CONFIRMATION)
    sign_in(client, application.applicant)
    own = f"/konto/antrag/{application.public_id}"
    html = page_text(client.get(own))
    assert f'href="{own}/zurueckziehen"' in html
    assert f'action="{own}/zurueckziehen"' not in html  # no one-click withdrawal
    question = page_text(client.get(f"{own}/zurueckziehen"))
    assert "wirklich zurückziehen" in question and "Ja, Antrag zurückziehen" in question


@pytest.mark.browser
def test_back_after_withdrawing_never_resubmits(
    app: Flask, live_server: str, playwright: Playwright, tmp_path: Path
) -> None:
    from tests.test_verify_pages import plain_browser

    with app.app_context():
        application = make_application(make_office(), state=S.AWAITING_CONFIRMATION)
        email, public_id = application.applicant.email, application.public_id
    browser = plain_browser(playwright)
    try:
        page = browser.new_page(locale="de-DE", viewport={"width": 390, "height": 844})
        page.goto(f"{live_server}/anmelden")
        page.get_by_label("E-Mail-Adresse").fill(email)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(lambda url: "/anmelden" not in url)
        page.goto(f"{live_server}/konto/antrag/{public_id}")
        page.get_by_role("link", name="Antrag zurückziehen …").click()
        expect(page.get_by_role("heading", name="Antrag zurückziehen?")).to_be_visible()
        page.get_by_role("button", name="Ja, Antrag zurückziehen").click()
        page.wait_for_url(re.compile(rf"/konto/antrag/{public_id}$"))
        expect(page.locator("#application-status")).to_have_text("Zurückgezogen")
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.go_back()  # the confirmation page, fetched again with GET, no "resubmit?"
        expect(page).to_have_url(re.compile(rf"/konto/antrag/{public_id}(/zurueckziehen)?$"))
        assert posts == []
        page.screenshot(path=str(tmp_path / "back.png"))
    finally:
        browser.close()
