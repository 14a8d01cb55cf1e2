"""A corrected postal address (or birth date) on an open application runs the eligibility
check again: the clerk's panel shows the new result, and a changed outcome is one audit
row naming the rule, old → new. A decided application keeps its decision unchecked."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Application, AuditEntry, Office, PlaceRule, UserRole
from ehrenamt.privacy import correction
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_application, make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_browser import (  # noqa: F401 - fixtures: Debian's Chromium
    browser_context_args,
    browser_type_launch_args,
)
from tests.test_staff_corrections import form_data

PLACE_CHANGED = "Wohn- bzw. Einsatzort: erfüllt → nicht erfüllt"


def living_here_office() -> Office:
    """An office whose place rule reads the home address (06844 and 06846 are "here")."""
    office = make_office()
    office.rules.place_rule = PlaceRule.LIVING_HERE
    db.session.commit()
    return office


def rechecks(application: Application) -> list[tuple[str | None, str]]:
    """(reason, actor role) of the application's re-check rows."""
    db.session.rollback()
    rows = db.session.execute(
        select(AuditEntry.reason, AuditEntry.actor_role)
        .where(
            AuditEntry.subject_type == "application",
            AuditEntry.subject_id == application.id,
            AuditEntry.action == "recheck_eligibility",
        )
        .order_by(AuditEntry.id)
    ).all()
    return [(reason, role) for reason, role in rows]


def move_away(client: FlaskClient, application: Application) -> None:
    """The volunteer corrects her address to one outside the office's area."""
    sign_in(client, application.applicant)
    new = {"street": "Leopoldstraße 3", "postcode": "80331", "town": "München"}
    assert post(client, "/konto/anschrift", new, page="/konto/").status_code == 302


def test_the_volunteers_new_address_is_checked_again_for_the_clerk(
    make_client: Callable[[], FlaskClient], ctx: None
) -> None:
    office = living_here_office()
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    move_away(make_client(), application)

    assert rechecks(application) == [(PLACE_CHANGED, "applicant")]
    clerk = make_client()
    sign_in(clerk, make_user(UserRole.CLERK, office))
    page = page_text(clerk.get(f"/verwaltung/antrag/{application.public_id}"))
    assert 'data-rule="place" data-outcome="not_met"' in page
    assert "Voraussetzungen neu geprüft" in page and PLACE_CHANGED in page


def test_a_decided_application_is_not_checked_again(client: FlaskClient, ctx: None) -> None:
    application = make_application(living_here_office(), state=ApplicationState.APPROVED)
    move_away(client, application)
    assert rechecks(application) == []


def test_an_address_that_changes_no_outcome_leaves_no_recheck_row(
    client: FlaskClient, ctx: None
) -> None:
    application = make_application(living_here_office(), state=ApplicationState.IN_REVIEW)
    assert correction.change_address(application.applicant, "Neue Gasse 7", "06846", "Dessau") == 1
    assert rechecks(application) == []


def test_a_clerks_correction_is_checked_again_and_audited_as_hers(
    client: FlaskClient, ctx: None
) -> None:
    office = living_here_office()
    application = make_application(office, state=ApplicationState.IN_REVIEW)
    sign_in(client, make_user(UserRole.CLERK, office))
    path = f"/verwaltung/antrag/{application.public_id}/korrigieren"
    response = post(client, path, form_data(application, postcode="80331"), page=path)
    assert response.status_code == 302
    assert rechecks(application) == [(PLACE_CHANGED, "clerk")]


@pytest.mark.browser
def test_the_clerk_sees_the_new_result_in_the_panel_and_history(
    app: Flask, live_server: str, browser: Browser, tmp_path: Path
) -> None:
    with app.app_context():
        office = living_here_office()
        application = make_application(office, state=ApplicationState.IN_REVIEW)
        clerk = make_user(UserRole.CLERK, office)
        correction.change_address(application.applicant, "Leopoldstraße 3", "80331", "München")
        public_id, email, secret = application.public_id, clerk.email, clerk.totp_secret

    page = browser.new_context(locale="de-DE").new_page()
    page.goto(f"{live_server}/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_label("Code aus der Authenticator-App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Bestätigen").click()
    page.goto(f"{live_server}/verwaltung/antrag/{public_id}")

    place = page.locator('tr[data-rule="place"]')
    expect(place).to_contain_text("nicht erfüllt")
    expect(place).to_contain_text("80331 München")
    recheck = page.locator('#history li[data-action="recheck_eligibility"]')
    expect(recheck).to_contain_text("Voraussetzungen neu geprüft")
    expect(recheck).to_contain_text(PLACE_CHANGED)
    shots = Path(os.environ.get("EHRENAMT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "recheck-clerk-detail.png"), full_page=True)
