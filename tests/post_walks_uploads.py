"""Walks of tests/test_post_redirect_get.py for staff forms with a file or a go-ahead: a
paper application with its scan, the office's logo, the partners' and the old cards'
imports after their dry run, a print run; and a partner's confirmation link sent again."""

from __future__ import annotations

import io
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import LegacyImport, Office, UserRole
from ehrenamt.offices import face
from ehrenamt.partners import categories, import_export
from ehrenamt.workflow import Actor
from tests.factories import make_office, make_user
from tests.forms_in_page import send_form, send_form_of
from tests.helpers import sign_in
from tests.post_walks import MakeClient, clerk_with_active_card
from tests.test_legacy_import import csv_file, legacy_line
from tests.test_office_logo import png_bytes
from tests.test_paper import paper_form_data
from tests.test_partners import make_partner
from tests.test_staff_invitation import age_invitation_links

OFFICE_SETTINGS = "/verwaltung/einstellungen/amt"


def _staff(make_client: MakeClient, role: UserRole = UserRole.CLERK) -> tuple[FlaskClient, Office]:
    office = make_office()
    client = make_client()
    sign_in(client, make_user(role, office))
    return client, office


def paper_application(make_client: MakeClient) -> TestResponse:
    """A clerk types in a signed paper form and chooses its scan."""
    client, office = _staff(make_client)
    return send_form(client, "/antrag/papier", "/antrag/papier", paper_form_data(office))


def upload_logo(make_client: MakeClient) -> TestResponse:
    """The office admin chooses a PNG as the office's logo."""
    client, _office = _staff(make_client, UserRole.ADMIN)
    logo = {"logo": (io.BytesIO(png_bytes()), "logo.png")}
    return send_form(client, OFFICE_SETTINGS, f"{OFFICE_SETTINGS}/logo", logo)


def remove_logo(make_client: MakeClient) -> TestResponse:
    """The office admin removes the logo the office has."""
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    face.set_logo(
        office, face.logo_png(io.BytesIO(png_bytes())), Acting.user_as(admin, Actor.ADMIN)
    )
    client = make_client()
    sign_in(client, admin)
    return send_form(client, OFFICE_SETTINGS, f"{OFFICE_SETTINGS}/logo/entfernen")


def import_partners(make_client: MakeClient) -> TestResponse:
    """A clerk checks a partners' CSV file, then imports it from the dry run's page."""
    client, _office = _staff(make_client)
    categories.ensure_categories()
    page = "/verwaltung/partner/import"
    row = {"name": "Laden", "category": "multimedia", "street": "Weg 1", "postcode": "06844"}
    row |= {"town": "Dessau", "email": "laden@example.org"}
    content = ",".join(import_export.CSV_COLUMNS) + "\n"
    content += ",".join(row.get(column, "") for column in import_export.CSV_COLUMNS) + "\n"
    upload = {"file": (io.BytesIO(content.encode()), "partner.csv")}
    checked = send_form(client, page, page, upload)
    assert checked.status_code == 200, checked.get_data(as_text=True)[:3000]
    return send_form_of(client, checked, page, f"{page}/ausfuehren")


def start_legacy_import(make_client: MakeClient) -> TestResponse:
    """A clerk checks a file of old cards, then gives the go-ahead on the dry run's page."""
    client, _office = _staff(make_client)
    page = "/verwaltung/altkarten/"
    upload = {"file": (io.BytesIO(csv_file([legacy_line(1)])), "karten.csv")}
    checked = send_form(client, page, page, upload)
    assert checked.status_code == 200, checked.get_data(as_text=True)[:3000]
    legacy_import = db.session.scalars(select(LegacyImport.public_id)).one()
    return send_form_of(client, checked, page, f"{page}{legacy_import}/importieren")


def new_print_run(make_client: MakeClient) -> TestResponse:
    """A clerk prints the active cards of the register."""
    client, _application, _card = clerk_with_active_card(make_client)
    page = "/verwaltung/briefe/druckauftrag"
    return send_form(client, page, page, {"source": "register", "state": "active"})


def resend_partner_confirmation_by_staff(make_client: MakeClient) -> TestResponse:
    """A clerk mails a new confirmation link to a partner, an hour after its first."""
    client, office = _staff(make_client)
    partner, user = make_partner(office, confirm_email=False)
    age_invitation_links(user, timedelta(hours=1))
    page = f"/verwaltung/partner/{partner.public_id}"
    return send_form(client, page, f"{page}/bestaetigungslink")
