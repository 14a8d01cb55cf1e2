"""Partners type no coordinates (issue #14): the postcode table shipped with the app, or a
geocoding service behind GEOCODER_URL, places them; the locate command fills the rest."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ehrenamt.extensions import db
from ehrenamt.partners import geocoding
from tests.factories import make_office
from tests.helpers import page_text, post, sign_in
from tests.test_partner_form import (
    PROFILE,
    field_error,
    profile_data,
    registered_partner,
)
from tests.test_partners import REGISTER, make_partner, registration_data

# --- coordinates -------------------------------------------------------------------


def test_forms_have_no_coordinate_fields(client: FlaskClient, ctx: None) -> None:
    _partner, user = make_partner(make_office())
    assert 'name="latitude"' not in page_text(client.get(REGISTER))
    sign_in(client, user)
    profile = page_text(client.get(PROFILE))
    assert 'name="postcode"' in profile
    assert 'name="latitude"' not in profile and 'name="longitude"' not in profile


def test_registration_places_the_partner_at_its_postcode(client: FlaskClient, ctx: None) -> None:
    partner = registered_partner(client, postcode="06844", town="Dessau-Roßlau")
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
    partner = registered_partner(client, postcode="99999")
    assert partner.postcode == "99999"
    assert partner.latitude is None and partner.longitude is None


@pytest.mark.parametrize("postcode", ["00123", "1234", "abcde"])
def test_a_postcode_that_cannot_be_german_is_afield_error(
    client: FlaskClient, ctx: None, postcode: str
) -> None:
    office = make_office()
    data = registration_data(office, postcode=postcode)
    response = post(client, REGISTER, data, page=REGISTER)
    assert response.status_code == 400
    assert field_error(page_text(response), "postcode")


def test_a_new_postcode_moves_the_partner_and_imported_coordinates_stay(
    client: FlaskClient, ctx: None
) -> None:
    partner, user = make_partner(make_office(), latitude="51.834000", longitude="12.245000")
    sign_in(client, user)
    # Same postcode: the exact coordinates of the import are kept.
    response = post(client, PROFILE, profile_data(partner, phone="0340 1"), page=PROFILE)
    assert response.status_code == 302
    db.session.refresh(partner)
    assert partner.latitude == Decimal("51.834000")
    # Moved to Berlin: located anew from the postcode.
    response = post(client, PROFILE, profile_data(partner, postcode="10115"), page=PROFILE)
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
    partner = registered_partner(client, street="Markt 1", postcode="06844", town="Dessau-Roßlau")
    assert (partner.latitude, partner.longitude) == (Decimal("51.835852"), Decimal("12.244079"))
    [query] = geocoder.queries
    assert query["street"] == ["Markt 1"] and query["postalcode"] == ["06844"]
    assert query["city"] == ["Dessau-Roßlau"] and query["country"] == ["de"]


@pytest.mark.parametrize("answer", [[], {"error": "x"}, [{"lat": "north", "lon": "1"}]])
def test_the_table_places_the_partner_when_the_service_finds_nothing(
    client: FlaskClient, ctx: None, geocoder: type[_Nominatim], answer: object
) -> None:
    geocoder.answer = answer
    partner = registered_partner(client, postcode="06844")
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))


def test_the_table_places_the_partner_when_the_service_is_down(
    app: Flask, client: FlaskClient, ctx: None
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["GEOCODER_URL"] = f"http://127.0.0.1:{port}/search"
    try:
        partner = registered_partner(client, postcode="06844")
    finally:
        app.config["GEOCODER_URL"] = ""
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))
