"""The staff's partner pages (issue #14, the clerk): the list's filter shows what is
listed ("alle" means all); the detail shows the contact person, the benefits' conditions
and a link back to the list."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from ehrenamt.extensions import db
from ehrenamt.models import UserRole
from tests.factories import make_office, make_user
from tests.helpers import page_text, sign_in
from tests.test_partners import make_partner


def selected_state(html: str) -> str:
    """The value of the state filter's selected option ("" when none is marked)."""
    select = html.split('name="state"', 1)[1].split("</select>", 1)[0]
    found = re.search(r'<option selected value="([^"]*)"', select)
    return found.group(1) if found else ""


def test_filter_alle_means_all(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    make_partner(office, approve=False, name="Wartend")
    make_partner(office, name="Frei")
    sign_in(client, make_user(UserRole.CLERK, office))

    first = page_text(client.get("/verwaltung/partner/"))
    assert "Wartend" in first and "Frei" not in first
    assert selected_state(first) == "pending"  # the filter says what is listed

    everything = page_text(client.get("/verwaltung/partner/?state="))
    assert "Wartend" in everything and "Frei" in everything
    assert selected_state(everything) == ""


def test_detail_shows_contact_conditions_and_a_way_back(client: FlaskClient, ctx: None) -> None:
    office = make_office()
    partner, user = make_partner(office, approve=False)
    partner.benefits[0].conditions = "nur werktags"
    db.session.commit()
    sign_in(client, make_user(UserRole.CLERK, office))

    html = page_text(client.get(f"/verwaltung/partner/{partner.public_id}"))

    contact = html.split("data-contact>", 1)[1].split("</dd>", 1)[0]
    assert user.display_name in contact and user.email in contact
    assert "nur werktags" in html
    assert 'href="/verwaltung/partner/"' in html and "Zur Liste" in html
