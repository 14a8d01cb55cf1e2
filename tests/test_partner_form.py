"""The shop owner's partner form (issue #14): a web address without https://, each error
once, coordinates from the postcode instead of typed ones, and the partner's e-mail
address confirmed by link before the directory lists it."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ehrenamt.core import mail
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import (
    LinkPurpose,
    OneTimeLink,
    OutboxMessage,
    Partner,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.partners import geocoding
from ehrenamt.partners import registration as partners_registration
from ehrenamt.privacy.retention import apply_retention
from ehrenamt.workflow import Actor
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_partners import REGISTER, make_partner, registration_data

PROFILE = "/partner/profil"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<]+(/akzeptanzstelle/email-bestaetigen/[A-Za-z0-9_-]+)")
WEB_ADDRESS_ERROR = "Bitte geben Sie eine Web-Adresse wie www.beispiel.de ein."


def _registered(client: FlaskClient, **changes: str) -> Partner:
    office = make_office()
    response = post(client, REGISTER, registration_data(office, **changes), page=REGISTER)
    assert response.status_code == 302, page_text(response)[:3000]
    partner = db.session.scalar(select(Partner))
    assert partner is not None
    return partner


def _profile_data(partner: Partner, **changes: str) -> dict[str, str]:
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


def _field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    assert match, f"no error at {field}"
    return match.group(1).strip()


def _confirmation_paths(address: str) -> list[str]:
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


def _approve(partner: Partner) -> None:
    staff = make_user(UserRole.CLERK, partner.office)
    partners_registration.approve_partner(partner, Acting.user_as(staff, Actor.CLERK))


def _listed_names(client: FlaskClient) -> str:
    return page_text(client.get("/verguenstigungen/"))


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
    partner = _registered(client, website=typed)
    assert partner.website == stored


def test_profile_adds_https_to_a_web_address(client: FlaskClient, ctx: None) -> None:
    partner, user = make_partner(make_office())
    sign_in(client, user)
    data = _profile_data(partner, website="www.museum-dessau.de")
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
    assert _field_error(html, "website") == WEB_ADDRESS_ERROR
    # Once at the field, once in the summary's link to it.
    assert html.count(WEB_ADDRESS_ERROR) == 2
    assert db.session.scalar(select(func.count()).select_from(Partner)) == 0


def test_profile_refuses_a_web_address_once(client: FlaskClient, ctx: None) -> None:
    partner, user = make_partner(make_office())
    sign_in(client, user)
    response = post(client, PROFILE, _profile_data(partner, website="beispiel"), page=PROFILE)
    assert response.status_code == 400
    html = page_text(response)
    assert _field_error(html, "website") == WEB_ADDRESS_ERROR
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


# --- coordinates -------------------------------------------------------------------


def test_forms_have_no_coordinate_fields(client: FlaskClient, ctx: None) -> None:
    _partner, user = make_partner(make_office())
    assert 'name="latitude"' not in page_text(client.get(REGISTER))
    sign_in(client, user)
    profile = page_text(client.get(PROFILE))
    assert 'name="postcode"' in profile
    assert 'name="latitude"' not in profile and 'name="longitude"' not in profile


def test_registration_places_the_partner_at_its_postcode(client: FlaskClient, ctx: None) -> None:
    partner = _registered(client, postcode="06844", town="Dessau-Roßlau")
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))


def test_the_table_knows_german_postcodes_and_their_places() -> None:
    dessau = geocoding.locate("06844")
    assert dessau is not None and dessau.name == "Dessau-Roßlau"
    berlin = geocoding.locate("10115")
    assert berlin is not None and 52.4 < berlin.latitude < 52.6 and 13.3 < berlin.longitude < 13.5
    assert geocoding.locate("99999") is None
    # Read once: later lookups use the same table in memory.
    assert geocoding._table() is geocoding._table()


def test_an_unknown_but_wellformed_postcode_is_stored_without_coordinates(
    client: FlaskClient, ctx: None
) -> None:
    assert geocoding.locate("99999") is None
    partner = _registered(client, postcode="99999")
    assert partner.postcode == "99999"
    assert partner.latitude is None and partner.longitude is None


@pytest.mark.parametrize("postcode", ["00123", "1234", "abcde"])
def test_a_postcode_that_cannot_be_german_is_a_field_error(
    client: FlaskClient, ctx: None, postcode: str
) -> None:
    office = make_office()
    data = registration_data(office, postcode=postcode)
    response = post(client, REGISTER, data, page=REGISTER)
    assert response.status_code == 400
    assert _field_error(page_text(response), "postcode")


def test_a_new_postcode_moves_the_partner_and_imported_coordinates_stay(
    client: FlaskClient, ctx: None
) -> None:
    partner, user = make_partner(make_office(), latitude="51.834000", longitude="12.245000")
    sign_in(client, user)
    # Same postcode: the exact coordinates of the import are kept.
    response = post(client, PROFILE, _profile_data(partner, phone="0340 1"), page=PROFILE)
    assert response.status_code == 302
    db.session.refresh(partner)
    assert partner.latitude == Decimal("51.834000")
    # Moved to Berlin: located anew from the postcode.
    response = post(client, PROFILE, _profile_data(partner, postcode="10115"), page=PROFILE)
    assert response.status_code == 302
    db.session.refresh(partner)
    assert partner.latitude is not None and 52.4 < partner.latitude < 52.6


def test_locate_command_fills_missing_coordinates(app: Flask, ctx: None) -> None:
    office = make_office()
    known, _ = make_partner(office, name="Bekannt", postcode="06846")
    unknown, _ = make_partner(office, name="Neu", postcode="99999")
    for partner in (known, unknown):
        partner.latitude = partner.longitude = None
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["ehrenamt", "partners", "locate"])
    assert result.exit_code == 0, result.output
    assert "1 partner(s) located, 1 with a postcode the table does not know" in result.output
    assert "Bekannt" not in result.output  # counts only, no names
    db.session.refresh(known)
    assert (known.latitude, known.longitude) == (Decimal("51.8473"), Decimal("12.1802"))


# --- e-mail confirmation -------------------------------------------------------------


def test_an_unconfirmed_partner_is_not_listed_until_the_link_is_used(
    client: FlaskClient, ctx: None
) -> None:
    partner = _registered(client)
    _approve(partner)
    db.session.refresh(partner)
    assert partner.email_confirmed_at is None
    assert not any(b.published for b in partner.benefits)
    assert "Kino am Markt" not in _listed_names(client)

    [path] = _confirmation_paths("kino@example.org")
    page = page_text(client.get(path))
    assert "Weiter" in page  # a mail scanner's GET uses nothing up
    response = post(client, path, {}, page=path)
    assert response.status_code == 302
    assert "bestätigt" in page_text(client.get(response.headers["Location"]))

    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None
    assert all(b.published for b in partner.benefits)
    assert "Kino am Markt" in _listed_names(client)


def test_a_confirmed_partner_waits_for_the_office_to_approve(
    client: FlaskClient, ctx: None
) -> None:
    partner = _registered(client)
    [path] = _confirmation_paths("kino@example.org")
    assert post(client, path, {}, page=path).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None
    assert "Kino am Markt" not in _listed_names(client)
    _approve(partner)
    assert "Kino am Markt" in _listed_names(client)


def test_a_link_used_twice_says_so(client: FlaskClient, ctx: None) -> None:
    _registered(client)
    [path] = _confirmation_paths("kino@example.org")
    assert post(client, path, {}, page=path).status_code == 302
    again = post(client, path, {}, page=path)
    assert again.status_code == 410
    assert "Dieser Link wurde bereits verwendet." in page_text(again)


def test_an_expired_link_says_so(client: FlaskClient, ctx: None) -> None:
    partner = _registered(client)
    [path] = _confirmation_paths("kino@example.org")
    for link in db.session.scalars(select(OneTimeLink)):
        link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = post(client, path, {}, page=path)
    assert response.status_code == 410
    html = page_text(response)
    assert "Dieser Link ist abgelaufen." in html and "neuen Link anfordern" in html
    db.session.refresh(partner)
    assert partner.email_confirmed_at is None


def test_an_unknown_link_is_not_found(client: FlaskClient, ctx: None) -> None:
    path = "/akzeptanzstelle/email-bestaetigen/" + "x" * 43
    response = post(client, path, {}, page=path)
    assert response.status_code == 404
    assert "Dieser Link ist ungültig." in page_text(response)


def test_staff_see_that_the_address_is_not_confirmed(client: FlaskClient, ctx: None) -> None:
    partner = _registered(client)
    staff = make_user(UserRole.CLERK, partner.office)
    sign_in(client, staff)
    listed = page_text(client.get("/verwaltung/partner/"))
    assert "E-Mail nicht bestätigt" in listed
    detail = page_text(client.get(f"/verwaltung/partner/{partner.public_id}"))
    assert "E-Mail nicht bestätigt" in detail
    # Staff may approve anyway: the listing then waits for the link.
    approve = post(
        client,
        f"/verwaltung/partner/{partner.public_id}/bestaetigen",
        {},
        page=f"/verwaltung/partner/{partner.public_id}",
    )
    assert approve.status_code == 302
    db.session.refresh(partner)
    assert partner.state.value == "approved" and not partner.benefits[0].published


def test_a_partner_can_ask_for_a_new_link_a_few_times(client: FlaskClient, ctx: None) -> None:
    partner = _registered(client)
    user = db.session.scalar(select(User).where(User.email == "kino@example.org"))
    assert user is not None
    sign_in(client, user)
    status = page_text(client.get("/partner/"))
    assert "Bestätigungslink erneut senden" in status
    for _ in range(3):
        response = post(client, "/partner/email-bestaetigung", {}, page="/partner/")
        assert response.status_code == 302
    assert len(_confirmation_paths("kino@example.org")) == 4  # registration + 3
    refused = post(client, "/partner/email-bestaetigung", {}, page="/partner/")
    assert refused.status_code == 429
    assert len(_confirmation_paths("kino@example.org")) == 4
    # Each new link works; the partner is then confirmed and asks in vain.
    path = _confirmation_paths("kino@example.org")[-1]
    assert post(client, path, {}, page=path).status_code == 302
    db.session.refresh(partner)
    assert partner.email_confirmed_at is not None


def test_resending_needs_the_csrf_token(client: FlaskClient, ctx: None) -> None:
    _registered(client)
    user = db.session.scalar(select(User).where(User.email == "kino@example.org"))
    assert user is not None
    sign_in(client, user)
    assert client.post("/partner/email-bestaetigung").status_code == 400


def test_confirmation_links_are_deleted_once_expired(client: FlaskClient, ctx: None) -> None:
    _registered(client)
    purposes = select(OneTimeLink.purpose)
    assert list(db.session.scalars(purposes)) == [LinkPurpose.PARTNER_EMAIL]
    apply_retention(utcnow() + timedelta(days=8))
    assert list(db.session.scalars(purposes)) == []


# --- optional geocoding service ------------------------------------------------------


class _Nominatim(BaseHTTPRequestHandler):
    """A stand-in for a town's own Nominatim on 127.0.0.1: answers the structured search
    with ``answer`` and records the queries."""

    answer: object = []
    queries: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        type(self).queries.append(parse_qs(urlsplit(self.path).query))
        body = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def geocoder(app: Flask) -> Iterator[type[_Nominatim]]:
    """The stand-in service, set as GEOCODER_URL for the test."""
    handler = type("Handler", (_Nominatim,), {"answer": [], "queries": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["GEOCODER_URL"] = f"http://127.0.0.1:{server.server_address[1]}/search"
    try:
        yield handler
    finally:
        app.config["GEOCODER_URL"] = ""
        server.shutdown()
        server.server_close()


def test_a_geocoding_service_places_the_partner_at_its_street(
    client: FlaskClient, ctx: None, geocoder: type[_Nominatim]
) -> None:
    geocoder.answer = [{"lat": "51.8358521", "lon": "12.2440793", "display_name": "Markt 1"}]
    partner = _registered(client, street="Markt 1", postcode="06844", town="Dessau-Roßlau")
    assert (partner.latitude, partner.longitude) == (Decimal("51.835852"), Decimal("12.244079"))
    [query] = geocoder.queries
    assert query["street"] == ["Markt 1"] and query["postalcode"] == ["06844"]
    assert query["city"] == ["Dessau-Roßlau"] and query["country"] == ["de"]


@pytest.mark.parametrize("answer", [[], {"error": "x"}, [{"lat": "north", "lon": "1"}]])
def test_the_table_places_the_partner_when_the_service_finds_nothing(
    client: FlaskClient, ctx: None, geocoder: type[_Nominatim], answer: object
) -> None:
    geocoder.answer = answer
    partner = _registered(client, postcode="06844")
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))


def test_the_table_places_the_partner_when_the_service_is_down(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["GEOCODER_URL"] = f"http://127.0.0.1:{port}/search"
    try:
        partner = _registered(client, postcode="06844")
    finally:
        app.config["GEOCODER_URL"] = ""
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))
