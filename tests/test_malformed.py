"""Malformed input that once answered 500: each of the seven causes an outside
adversarial test found, answered now with a clear error (a form message at the field, a
404 for a name that names nothing, a JSON problem with a status).

tests/test_fuzz.py closes the classes by generating such input for every form and the
API; these are the cases as they were reported, kept as plain regressions.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from flask.testing import FlaskClient

from ehrenamt.extensions import db
from ehrenamt.models import UserRole
from ehrenamt.partners import api_keys
from tests.factories import make_application, make_office, make_user
from tests.helpers import csrf_token, page_text, post, sign_in
from tests.test_api import assert_problem, bearer
from tests.test_api import make_partner as make_api_partner
from tests.test_partners import CSV_HEADER, _csv_line, _import, _upload, make_partner

#: Beyond what a signed 64-bit integer column (or SQLite's integer) can hold.
HUGE_ID = str(2**64 + 1)

#: Decimal texts Python parses but nothing can compare or store.
NOT_FINITE = ["sNaN", "NaN", "-sNaN", "Infinity", "-inf", "1" + "0" * 40]

#: JSON nested deeper than Python's parser can recurse.
DEEP_JSON = "[" * 4000 + "]" * 4000


def test_nul_in_the_renewal_parameter_names_no_card(client: FlaskClient, ctx: None) -> None:
    make_office()
    sign_in(client, make_user(UserRole.VOLUNTEER))
    assert client.get("/antrag/?erneuern=%00").status_code == 404
    assert client.get("/antrag/?erneuern=abc%00def").status_code == 404


@pytest.mark.parametrize("value", NOT_FINITE)
def test_office_rules_refuse_hours_that_are_not_finite(
    client: FlaskClient, ctx: None, value: str
) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole.ADMIN, office))
    page = "/verwaltung/einstellungen/regeln"
    response = post(client, page, {"minimum_hours_per_week": value}, page=page)
    assert response.status_code == 400
    assert 'id="minimum_hours_per_week-error"' in page_text(response)


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/verwaltung/", "state"),
        ("/verwaltung/", "card_type"),
        ("/verwaltung/karten/", "state"),
        ("/verwaltung/karten/", "card_type"),
        ("/verwaltung/karten/", "expires_within"),
        ("/verwaltung/partner/", "state"),
    ],
)
@pytest.mark.parametrize("blank", ["%20", "%09", "%20%20%20"])
def test_blank_list_filters_are_bad_values_like_any_other(
    client: FlaskClient, ctx: None, path: str, parameter: str, blank: str
) -> None:
    """A blank is no member of the enum: like ``state=bogus``, the list is shown unfiltered
    (tests/test_review.py and test_card_register.py hold that behaviour)."""
    office = make_office()
    sign_in(client, make_user(UserRole.CLERK, office))
    response = client.get(f"{path}?{parameter}={blank}")
    assert response.status_code == 200


def test_engagement_id_beyond_64_bit_is_not_found(client: FlaskClient, ctx: None) -> None:
    application = make_application(make_office())
    sign_in(client, make_user(UserRole.CLERK, application.office))
    page = f"/verwaltung/antrag/{application.public_id}"
    for engagement_id in (HUGE_ID, "²", "-1"):
        response = post(
            client,
            f"{page}/organisation",
            {"engagement_id": engagement_id, "resend": "y"},
            page=page,
        )
        assert response.status_code == 404, engagement_id


def test_api_key_id_beyond_64_bit_is_not_found(client: FlaskClient, ctx: None) -> None:
    partner, user = make_api_partner()
    api_keys.create_key(partner, "Kasse 1", None)
    sign_in(client, user)
    token = csrf_token(client, "/partner/api-schluessel/")
    response = client.post(
        f"/partner/api-schluessel/{HUGE_ID}/widerrufen", data={"csrf_token": token}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/verwaltung/nachweis", "/konto/nachweis"])
def test_upload_id_beyond_64_bit_is_not_found(client: FlaskClient, ctx: None, path: str) -> None:
    application = make_application(make_office())
    user = application.applicant if path.startswith("/konto") else None
    sign_in(client, user or make_user(UserRole.CLERK, application.office))
    assert client.get(f"{path}/{HUGE_ID}").status_code == 404


@pytest.mark.parametrize(
    "field",
    ["x" * 131_073, "Laden\x00Eins", '"' + "y" * 200_000 + '"'],
    ids=["huge-field", "nul", "huge-quoted"],
)
def test_partner_csv_import_reports_bad_fields_at_their_line(
    client: FlaskClient, ctx: None, field: str
) -> None:
    office = make_office()
    sign_in(client, make_user(UserRole.CLERK, office))
    content = "\n".join(
        [CSV_HEADER, _csv_line("Laden Eins", "eins@example.org"), _csv_line(field, "x@example.org")]
    )
    checked = _upload(client, content)
    assert checked.status_code == 400
    assert "Zeile 3" in page_text(checked)
    assert _import(client, content).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/verify", "/pruefen/ergebnis"])
def test_deeply_nested_json_is_a_bad_request(client: FlaskClient, ctx: None, path: str) -> None:
    partner, user = make_api_partner()
    key = api_keys.create_key(partner, "Kasse 1", None)[1]
    if path.startswith("/api/"):
        headers = bearer(key)
    else:
        sign_in(client, user)
        headers = {"X-CSRFToken": csrf_token(client, "/pruefen/")}
    response = client.post(
        path,
        data=io.BytesIO(DEEP_JSON.encode()),
        content_type="application/json",
        headers=headers,
    )
    if path.startswith("/api/"):
        assert_problem(response, 400)
    else:
        assert response.status_code == 400
        assert response.get_json() == {"error": "bad_request"}


def test_coordinates_posted_to_the_profile_are_ignored(client: FlaskClient, ctx: None) -> None:
    """Partners type no coordinates: numbers sent anyway (even 1E-999999999, which
    PostgreSQL could not take) change nothing; the postcode places the partner."""
    partner, user = make_partner(make_office())
    sign_in(client, user)
    data = {"name": "Museum", "category": str(partner.category_id), "street": "Weg 1"}
    data |= {"postcode": "06844", "town": "Dessau", "email": "museum@example.org"}
    data |= {"latitude": "1E-999999999", "longitude": "12." + "3" * 30_000}
    response = post(client, "/partner/profil", data, page="/partner/profil")
    assert response.status_code == 302, page_text(response)[:2000]
    db.session.refresh(partner)
    assert (partner.latitude, partner.longitude) == (Decimal("51.8513"), Decimal("12.2698"))
