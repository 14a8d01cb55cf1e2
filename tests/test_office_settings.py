"""The office admin's settings page, and the office's face on the public pages: footer
contact, Impressum, favicon."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import AuditEntry, UserRole
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in

PAGE = "/verwaltung/einstellungen/amt"

SETTINGS = {
    "name": "Stadt Dessau-Roßlau",
    "postal_address": "Amt für Ehrenamt\r\nZerbster Straße 4\r\n06844 Dessau-Roßlau",
    "phone": "+49 340 204-1234",
    "contact_email": "ehrenamt@dessau-rosslau.de",
    "opening_hours": "Di 9–12 und 14–18 Uhr\r\nDo 9–12 Uhr",
    "imprint": "Herausgeberin: Stadt Dessau-Roßlau\r\nvertreten durch den Oberbürgermeister",
}


def test_the_admin_saves_the_settings_and_the_pages_show_them(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    sign_in(client, admin)
    assert client.get(PAGE).status_code == 200
    response = post(client, PAGE, SETTINGS, page=PAGE)
    assert response.status_code == 302
    db.session.refresh(office)
    assert office.name == "Stadt Dessau-Roßlau"
    assert office.postal_address == "Amt für Ehrenamt\nZerbster Straße 4\n06844 Dessau-Roßlau"
    assert office.phone == "+49 340 204-1234"
    assert office.contact_email == "ehrenamt@dessau-rosslau.de"
    assert office.opening_hours == "Di 9–12 und 14–18 Uhr\r\nDo 9–12 Uhr".replace("\r", "")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_type == "office")).one()
    assert entry.action == "update_office" and entry.actor_id == admin.id
    assert entry.reason is not None and "imprint" in entry.reason and "phone" in entry.reason

    # The same values again change nothing and write no second audit row.
    post(client, PAGE, SETTINGS, page=PAGE)
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == 1

    # Anyone sees the contact in the footer and the Impressum behind its link.
    visitor = client.application.test_client()
    html = page_text(visitor.get("/"))
    assert "+49 340 204-1234" in html and "Do 9–12 Uhr" in html
    assert "Zerbster Straße 4" in html
    assert f'href="/impressum/{office.slug}"' in html
    imprint = page_text(visitor.get(f"/impressum/{office.slug}"))
    assert "vertreten durch den Oberbürgermeister" in imprint
    assert visitor.get("/impressum/no-such-office").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("contact_email", "kein-at-zeichen"),
        ("phone", "call me <b>"),
        ("imprint", "x" * 4001),
        ("opening_hours", "Mo\x0b9 Uhr"),
    ],
)
def test_bad_input_is_answered_at_the_field_and_nothing_is_saved(
    client: FlaskClient, ctx: None, field: str, value: str
) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    response = post(client, PAGE, {**SETTINGS, field: value}, page=PAGE)
    assert response.status_code == 400
    html = page_text(response)
    assert f'id="{field}-error"' in html
    # What was typed is still there.
    assert "Zerbster Straße 4" in html
    db.session.refresh(office)
    assert office.phone == "" and office.name.startswith("Stadt Test")


def test_a_form_without_its_csrf_token_changes_nothing(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    response = client.post(PAGE, data=SETTINGS)
    assert response.status_code == 400
    db.session.refresh(office)
    assert office.phone == ""


def test_only_the_offices_admin_changes_its_settings(client: FlaskClient, ctx: None) -> None:
    office_a = make_office()
    office_b = make_office()
    # A clerk is refused, even with a valid form.
    sign_in(client, make_user(UserRole.CLERK, office_a))
    assert client.get(PAGE).status_code == 403
    response = post(client, PAGE, SETTINGS, page="/verwaltung/briefe/")
    assert response.status_code == 403
    # Visitors and volunteers are sent to sign in or refused.
    anonymous = client.application.test_client()
    assert anonymous.get(PAGE).status_code in (302, 403)
    # The admin of office B sees and changes only office B.
    b_client = client.application.test_client()
    sign_in(b_client, make_user(UserRole.ADMIN, office_b))
    html = page_text(b_client.get(PAGE))
    assert office_b.name in html and office_a.name not in html
    assert post(b_client, PAGE, SETTINGS, page=PAGE).status_code == 302
    db.session.refresh(office_a)
    db.session.refresh(office_b)
    assert office_a.phone == "" and office_b.phone == SETTINGS["phone"]


def test_the_footer_shows_the_pages_office_or_the_public_one(
    app: Flask, client: FlaskClient, ctx: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_office()
    first.phone = "0340 111"
    second = make_office()
    second.phone = "0340 222"
    db.session.commit()
    # No setting: the first office created.
    assert "0340 111" in page_text(client.get("/"))
    assert "0340 111" in page_text(client.get("/antrag/"))
    # PUBLIC_OFFICE_SLUG names another.
    monkeypatch.setitem(app.config, "PUBLIC_OFFICE_SLUG", second.slug)
    html = page_text(client.get("/"))
    assert "0340 222" in html and "0340 111" not in html
    assert "0340 222" in page_text(client.get("/impressum"))
    # A page of an office shows that office, whatever the setting.
    monkeypatch.setitem(app.config, "PUBLIC_OFFICE_SLUG", None)
    html = page_text(client.get(f"/datenschutz/{second.slug}"))
    assert "0340 222" in html and "0340 111" not in html


def test_the_favicon_exists(client: FlaskClient, ctx: None) -> None:
    html = page_text(client.get("/"))
    assert 'rel="icon"' in html
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.data[:4] == b"\x00\x00\x01\x00"
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    svg.close()
    ico.close()
