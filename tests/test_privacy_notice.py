"""The office's privacy page is generated from its configured periods and contact, kept
in versions; each application records the version it was given."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import Application, Office, PrivacyNotice, UserRole
from tests.factories import application_form_data, make_office, make_user
from tests.helpers import page_text, post, sign_in

PERIODS = {
    "retention_decided_months": "6",
    "retention_card_months": "12",
    "retention_unconfirmed_days": "30",
    "retention_check_days": "90",
}
SETTINGS = "/verwaltung/einstellungen/aufbewahrung"


@pytest.fixture
def office(ctx: None) -> Office:
    """An office named on its notice."""
    return make_office()


def _page(client: FlaskClient, office: Office, suffix: str = "") -> str:
    response = client.get(f"/datenschutz/{office.slug}{suffix}")
    assert response.status_code == 200
    return page_text(response)


def test_page_states_the_configured_periods_and_the_controller(
    client: FlaskClient, office: Office
) -> None:
    """The office's name and contact, and each period as configured."""
    html = _page(client, office)
    assert office.name in html and office.contact_email in html
    assert "6 Monate nach der Entscheidung" in html
    assert "12 Monate nach dem Ende der Karte" in html
    assert "wurde: 30 Tage." in html
    assert "Ihrer Karte: 90 Tage." in html
    assert "Formularen: 24 Stunden." in html
    assert "Fassung 1 vom" in html
    assert f"/datenschutz/{office.slug}" in page_text(client.get("/datenschutz"))


def test_changing_a_period_changes_the_page_and_keeps_the_old_version(
    client: FlaskClient, make_client: object, office: Office
) -> None:
    """The admin sets 3 months: the page says so, as version 2; version 1 still reads
    6 months and says it is no longer current."""
    _page(client, office)
    admin = make_client()  # type: ignore[operator]
    sign_in(admin, make_user(UserRole.ADMIN, office))
    changed = {**PERIODS, "retention_decided_months": "3", "retention_check_days": "1"}
    assert post(admin, SETTINGS, changed, page=SETTINGS).status_code == 302
    current = _page(client, office)
    assert "3 Monate nach der Entscheidung" in current and "6 Monate" not in current
    assert "Ihrer Karte: 1 Tag." in current
    assert "Fassung 2 vom" in current
    old = _page(client, office, "/fassung-1")
    assert "6 Monate nach der Entscheidung" in old and "nicht mehr aktuell" in old
    assert client.get(f"/datenschutz/{office.slug}/fassung-9").status_code == 404
    assert client.get("/datenschutz/nirgends").status_code == 404
    # The stored text is the German one, whatever language the page was read in.
    texts = db.session.scalars(select(PrivacyNotice.text).order_by(PrivacyNotice.version))
    assert ["6 Monate" in t for t in texts] == [True, False]


def test_an_unchanged_office_gets_no_new_version(client: FlaskClient, office: Office) -> None:
    """Reading the page again, or saving the same periods, makes no version."""
    _page(client, office)
    _page(client, office)
    assert db.session.scalar(select(PrivacyNotice.version)) == 1
    assert len(db.session.scalars(select(PrivacyNotice)).all()) == 1


def test_data_protection_officer_setting_is_named(
    app: Flask, client: FlaskClient, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the office settings lack comes from the deployment's setting."""
    monkeypatch.setitem(
        app.config, "PRIVACY_DATA_PROTECTION_OFFICER", "Datenschutz Stadt, Zerbster Str. 4"
    )
    assert "Datenschutz Stadt, Zerbster Str. 4" in _page(client, office)


def test_the_drafts_period_is_the_setting(
    app: Flask, client: FlaskClient, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved drafts are named with the deployment's period; another period is a new version."""
    assert "Antrags (mit dem Link, ihn fortzusetzen): 30 Tage nach dem letzten" in _page(
        client, office
    )
    monkeypatch.setitem(app.config, "DRAFT_MAX_AGE_DAYS", 14)
    changed = _page(client, office)
    assert "fortzusetzen): 14 Tage nach dem letzten" in changed and "Fassung 2 vom" in changed


def test_english_page_shows_the_same_periods(client: FlaskClient, office: Office) -> None:
    """In English too, from the same version."""
    response = client.get(f"/datenschutz/{office.slug}", headers={"Accept-Language": "en"})
    html = page_text(response)
    assert "6 months after the decision" in html and "Version 1 of" in html


def test_application_records_the_version_it_was_given(client: FlaskClient, office: Office) -> None:
    """The application form's submission names the notice version current then."""
    response = post(client, "/antrag/", application_form_data(office), page="/antrag/")
    assert response.status_code == 302, page_text(response)[:2000]
    application = db.session.scalars(select(Application)).one()
    notice = db.session.get(PrivacyNotice, application.privacy_notice_id)
    assert notice is not None and (notice.office_id, notice.version) == (office.id, 1)
