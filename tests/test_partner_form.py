"""The shop owner's partner form (issue #14): a web address typed without https:// is
completed, each error is shown once at its field. The coordinates are in
test_partner_geocoding.py, the e-mail confirmation in test_partner_email.py; the helpers
here serve all three."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from ehrenamt.core import mail
from ehrenamt.extensions import db
from ehrenamt.models import (
    OutboxMessage,
    Partner,
)
from tests.factories import make_office
from tests.helpers import page_text, post, sign_in
from tests.test_partners import REGISTER, make_partner, registration_data

PROFILE = "/partner/profil"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<]+(/akzeptanzstelle/email-bestaetigen/[A-Za-z0-9_-]+)")
WEB_ADDRESS_ERROR = "Bitte geben Sie eine Web-Adresse wie www.beispiel.de ein."


def registered_partner(client: FlaskClient, **changes: str) -> Partner:
    office = make_office()
    response = post(client, REGISTER, registration_data(office, **changes), page=REGISTER)
    assert response.status_code == 302, page_text(response)[:3000]
    partner = db.session.scalar(select(Partner))
    assert partner is not None
    return partner


def profile_data(partner: Partner, **changes: str) -> dict[str, str]:
    data = {
        "name": partner.name,
        "category": str(partner.category_id),
        "street": partner.street,
        "postcode": partner.postcode,
        "town": partner.town,
        "email": partner.email,
        "website": "",
        "phone": "",
        "description": "",
    }
    data.update(changes)
    return data


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert match, f"no error at {field}"
    return match.group(1).strip()


def confirmation_paths(address: str) -> list[str]:
    """The confirmation links in the mails queued to ``address``, oldest first."""
    db.session.rollback()
    mails = db.session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.task == mail.SEND_MAIL_TASK,
            OutboxMessage.payload["to"].as_string() == address,
        )
        .order_by(OutboxMessage.id)
    )
    return [path for m in mails for path in CONFIRM_LINK.findall(m.payload["text"])]


# --- web address -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("www.kino-dessau.de", "https://www.kino-dessau.de"),
        ("  kino-dessau.de/programm  ", "https://kino-dessau.de/programm"),
        ("kino-dessau.de:8080", "https://kino-dessau.de:8080"),
        ("http://kino-dessau.de", "http://kino-dessau.de"),
        ("HTTPS://Kino-Dessau.de", "HTTPS://Kino-Dessau.de"),
    ],
)
def test_registration_adds_https_to_a_web_address(
    client: FlaskClient, ctx: None, typed: str, stored: str
) -> None:
    partner = registered_partner(client, website=typed)
    assert partner.website == stored


def test_profile_adds_https_to_a_web_address(client: FlaskClient, ctx: None) -> None:
    partner, user = make_partner(make_office())
    sign_in(client, user)
    data = profile_data(partner, website="www.museum-dessau.de")
    response = post(client, PROFILE, data, page=PROFILE)
    assert response.status_code == 302, page_text(response)[:2000]
    db.session.refresh(partner)
    assert partner.website == "https://www.museum-dessau.de"


@pytest.mark.parametrize(
    "typed", ["beispiel", "javascript:alert(1)", "ftp://kino.de", "https://", "kino dessau.de"]
)
def test_a_web_address_that_is_none_is_refused_with_one_message(
    client: FlaskClient, ctx: None, typed: str
) -> None:
    """Two checks with the same message showed it twice at the field."""
    office = make_office()
    response = post(client, REGISTER, registration_data(office, website=typed), page=REGISTER)
    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, "website") == WEB_ADDRESS_ERROR
    # Once at the field, once in the summary's link to it.
    assert html.count(WEB_ADDRESS_ERROR) == 2
    # The field shows what was typed, not an address completed with https:// it never had.
    assert re.search(r'<input[^>]*name="website"[^>]*value="([^"]*)"', html)[1] == escape(typed)
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_profile_refuses_a_web_address_once(client: FlaskClient, ctx: None) -> None:
    partner, user = make_partner(make_office())
    sign_in(client, user)
    response = post(client, PROFILE, profile_data(partner, website="beispiel"), page=PROFILE)
    assert response.status_code == 400
    html = page_text(response)
    assert field_error(html, "website") == WEB_ADDRESS_ERROR
    assert html.count(WEB_ADDRESS_ERROR) == 2


def test_every_error_of_a_faulty_registration_is_shown_once_at_its_field(
    client: FlaskClient, ctx: None
) -> None:
    office = make_office()
    faulty = {
        "website": "beispiel",
        "postcode": "12",
        "email": "kein-at",
        "benefits-0-title": "",
        "confirm": "anders",
    }
    response = post(client, REGISTER, registration_data(office, **faulty), page=REGISTER)
    assert response.status_code == 400
    html = page_text(response)
    errors = re.findall(r'<p class="error" id="([^"]+)-error">(.*?)</p>', html, re.S)
    assert {field for field, _ in errors} >= {"website", "postcode", "email", "benefits-0-title"}
    for field, text in errors:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
        assert len(sentences) == len(set(sentences)), f"{field}: {text}"
        # The summary links the field once, with the same first message.
        assert html.count(f'<a href="#{field}">') == 1, field
