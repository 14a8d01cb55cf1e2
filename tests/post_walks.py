"""The walks of tests/test_post_redirect_get.py: for each POST route a person uses, the
people and objects it needs, then its form read from its page, filled and sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.accounts import links
from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import (
    ApiKey,
    Application,
    Card,
    CardState,
    LinkPurpose,
    PartnerState,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import (
    PASSWORD,
    application_form_data,
    make_application,
    make_office,
    make_user,
)
from tests.forms_in_page import send_form
from tests.helpers import next_totp, post, sign_in
from tests.privacy_data import make_card
from tests.test_partners import make_partner, registration_data

MakeClient = Callable[[], FlaskClient]
Walk = Callable[[MakeClient], TestResponse]


# --- people and their objects ----------------------------------------------------------


def signed_in_volunteer(
    make_client: MakeClient, state: ApplicationState
) -> tuple[FlaskClient, str]:
    """A signed-in volunteer with an application in ``state``; its public id."""
    office = make_office()
    volunteer = make_user(UserRole.VOLUNTEER)
    application = make_application(office, volunteer, state=state)
    if state == ApplicationState.NEEDS_INFORMATION:
        application.information_request = "Bitte den Juleica-Nachweis nachreichen."
        db.session.commit()
    client = make_client()
    sign_in(client, volunteer)
    return client, application.public_id


def signed_in_clerk(
    make_client: MakeClient, state: ApplicationState = ApplicationState.IN_REVIEW
) -> tuple[FlaskClient, Application]:
    """A signed-in clerk and an application of their office in ``state``."""
    office = make_office()
    application = make_application(office, state=state)
    client = make_client()
    sign_in(client, make_user(UserRole.CLERK, office))
    return client, application


def clerk_with_active_card(make_client: MakeClient) -> tuple[FlaskClient, Application, Card]:
    """A signed-in clerk and an active card of their office (valid for about two years)."""
    client, application = signed_in_clerk(make_client, ApplicationState.APPROVED)
    card = make_card(
        application,
        state=CardState.ACTIVE,
        valid_from=date.today(),
        valid_until=date.today() + timedelta(days=700),
    )
    return client, application, card


def _admin(make_client: MakeClient) -> FlaskClient:
    client = make_client()
    sign_in(client, make_user(UserRole.ADMIN, make_office()))
    return client


def signed_in_partner(make_client: MakeClient) -> tuple[FlaskClient, str]:
    """A signed-in partner; the public id of its benefit."""
    partner, user = make_partner(make_office())
    client = make_client()
    sign_in(client, user)
    return client, partner.benefits[0].public_id


def detail_path(application: Application) -> str:
    return f"/verwaltung/antrag/{application.public_id}"


# --- the walks -------------------------------------------------------------------------


def apply(make_client: MakeClient) -> TestResponse:
    office = make_office()
    return post(make_client(), "/antrag/", application_form_data(office), page="/antrag/")


def save_draft(make_client: MakeClient) -> TestResponse:
    office = make_office()
    data = {"office": str(office.id), "email": "entwurf@example.org", "first_name": "Erika"}
    return post(make_client(), "/antrag/entwurf", data, page="/antrag/")


def confirm(make_client: MakeClient) -> TestResponse:
    waiting = make_application(make_office(), state=ApplicationState.AWAITING_CONFIRMATION)
    token = security.new_token()
    engagement = waiting.engagements[0]
    engagement.token_hash = security.hash_token(token)
    engagement.token_expires_at = utcnow() + timedelta(days=14)
    db.session.commit()
    path = f"/bestaetigung/{token}"
    return send_form(make_client(), path, path, {"answer": "confirm"})


def answer(make_client: MakeClient) -> TestResponse:
    client, public_id = signed_in_volunteer(make_client, ApplicationState.NEEDS_INFORMATION)
    page = f"/konto/antrag/{public_id}"
    return send_form(client, page, f"{page}/antworten", {"answer": "Nachweis folgt per Post."})


def withdraw(make_client: MakeClient) -> TestResponse:
    client, public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
    path = f"/konto/antrag/{public_id}/zurueckziehen"
    return send_form(client, path, path)


def account(action: str, changes: dict[str, str]) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, _public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
        return send_form(client, "/konto/", action, changes)

    return walk


def reauthenticate(make_client: MakeClient) -> TestResponse:
    client, _public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
    path = "/konto/bestaetigen"
    return send_form(client, path, path, {"password": PASSWORD})


def delete_account(make_client: MakeClient) -> TestResponse:
    client, _public_id = signed_in_volunteer(make_client, ApplicationState.REJECTED)
    return send_form(client, "/konto/loeschen", "/konto/loeschen", {"confirm": "y"})


def review(action: str, changes: dict[str, str], state: ApplicationState) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, application = signed_in_clerk(make_client, state)
        page = detail_path(application)
        return send_form(client, page, f"{page}/{action}", changes)

    return walk


def engagement_action(make_client: MakeClient) -> TestResponse:
    client, application = signed_in_clerk(make_client, ApplicationState.AWAITING_CONFIRMATION)
    page = detail_path(application)
    return send_form(client, page, f"{page}/organisation", {"resend": "y"})


def correct(make_client: MakeClient) -> TestResponse:
    client, application = signed_in_clerk(make_client)
    path = f"{detail_path(application)}/korrigieren"
    return send_form(
        client, path, path, {"town": "Roßlau", "correction_reason": "Umzug laut Telefonat"}
    )


def revoke(make_client: MakeClient) -> TestResponse:
    client, _application, card = clerk_with_active_card(make_client)
    page = f"/verwaltung/karten/{card.public_id}"
    return send_form(client, page, f"{page}/sperren", {"reason": "lost"})


def partner_register(make_client: MakeClient) -> TestResponse:
    path = "/akzeptanzstelle/registrieren"
    return post(make_client(), path, registration_data(make_office()), page=path)


def partner_form(page: str, action: str, changes: dict[str, str]) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, benefit = signed_in_partner(make_client)
        return send_form(
            client, page.format(benefit=benefit), action.format(benefit=benefit), changes
        )

    return walk


def check_card(make_client: MakeClient) -> TestResponse:
    client, _benefit = signed_in_partner(make_client)
    return send_form(client, "/pruefen/", "/pruefen/", {"code": "K7QM-3RXA-9TWP"})


def admin_form(path: str, changes: dict[str, str], action: str | None = None) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        return send_form(_admin(make_client), path, action or path, changes)

    return walk


def approve_partner(make_client: MakeClient) -> TestResponse:
    office = make_office()
    partner, _user = make_partner(office, approve=False)
    assert partner.state == PartnerState.PENDING
    client = make_client()
    sign_in(client, make_user(UserRole.CLERK, office))
    page = f"/verwaltung/partner/{partner.public_id}"
    return send_form(client, page, f"{page}/bestaetigen")


def login(make_client: MakeClient) -> TestResponse:
    volunteer = make_user(UserRole.VOLUNTEER)
    return send_form(
        make_client(),
        "/anmelden",
        "/anmelden",
        {"email": volunteer.email or "", "password": PASSWORD},
    )


def logout(make_client: MakeClient) -> TestResponse:
    client, _public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
    return send_form(client, "/konto/", "/abmelden")


def anonymous(path: str, changes: dict[str, str], action: str | None = None) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        make_office()
        return send_form(make_client(), path, action or path, changes)

    return walk


def member(action: str, changes: dict[str, str], active: bool = True) -> Walk:
    """The office admin on a staff member's page."""

    def walk(make_client: MakeClient) -> TestResponse:
        office = make_office()
        member = make_user(UserRole.CLERK, office)
        if not active:
            member.active = False
            db.session.commit()
        client = make_client()
        sign_in(client, make_user(UserRole.ADMIN, office))
        page = f"/verwaltung/mitarbeitende/{member.id}"
        return send_form(client, page, f"{page}/{action}", changes)

    return walk


def partner_admin(
    action: str, changes: dict[str, str], *, approve: bool, benefit: bool = False
) -> Walk:
    """A clerk on a partner's page (its benefit's buttons with ``benefit``)."""

    def walk(make_client: MakeClient) -> TestResponse:
        office = make_office()
        partner, _user = make_partner(office, approve=approve)
        client = make_client()
        sign_in(client, make_user(UserRole.CLERK, office))
        page = f"/verwaltung/partner/{partner.public_id}"
        if benefit:
            target = f"/verwaltung/partner/verguenstigung/{partner.benefits[0].public_id}/{action}"
            if action == "einblenden":
                send_form(client, page, target.replace("einblenden", "ausblenden"), {})
        else:
            target = f"{page}/{action}"
        return send_form(client, page, target, changes)

    return walk


def card_action(action: str, changes: dict[str, str]) -> Walk:
    """A clerk on an active card's page."""

    def walk(make_client: MakeClient) -> TestResponse:
        client, _application, card = clerk_with_active_card(make_client)
        page = f"/verwaltung/karten/{card.public_id}"
        return send_form(client, page, f"{page}/{action}", changes)

    return walk


def erase(make_client: MakeClient) -> TestResponse:
    client, application = signed_in_clerk(make_client, ApplicationState.REJECTED)
    path = f"{detail_path(application)}/daten-loeschen"
    return send_form(client, path, path, {"reason": "Brief vom 2. Dezember", "confirm": "y"})


def link(path: str, purpose: LinkPurpose, changes: dict[str, str]) -> Walk:
    """A one-time link's page (its button, or its password form), for a volunteer."""

    def walk(make_client: MakeClient) -> TestResponse:
        role = UserRole.CLERK if purpose == LinkPurpose.INVITATION else UserRole.VOLUNTEER
        user = make_user(role, make_office() if role == UserRole.CLERK else None)
        token = links.issue_link(user, purpose, timedelta(hours=1))
        db.session.commit()
        page = path.format(token=token)
        return send_form(make_client(), page, page, changes)

    return walk


def colleagues(make_client: MakeClient) -> TestResponse:
    client, _benefit = signed_in_partner(make_client)
    path = "/partner/kolleginnen"
    return send_form(client, path, path, {"email": "kollege@example.org"})


def switch_office(make_client: MakeClient) -> TestResponse:
    office = make_office()
    other = make_office()
    client = make_client()
    sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, office))
    return send_form(
        client, "/programm/aemter", "/programm/amt-wechseln", {"office_id": str(other.id)}
    )


NEW_PASSWORD = {"password": "ein neues Passwort 456", "confirm": "ein neues Passwort 456"}


IN_REVIEW = ApplicationState.IN_REVIEW


def new_office(make_client: MakeClient) -> TestResponse:
    client = make_client()
    sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, make_office()))
    path = "/programm/aemter/neu"
    changes = {
        "name": "Landkreis Beispiel",
        "slug": "landkreis-beispiel",
        "contact_email": "ehrenamt@landkreis.example.org",
        "postcodes": "06842 06844",
    }
    return send_form(client, path, path, changes)


def revoke_api_key(make_client: MakeClient) -> TestResponse:
    client, _benefit = signed_in_partner(make_client)
    keys = "/partner/api-schluessel/"
    assert send_form(client, keys, keys, {"name": "Kasse 1"}).status_code == 200
    key_id = db.session.scalars(select(ApiKey.id)).one()
    return send_form(client, keys, f"{keys}{key_id}/widerrufen")


def second_factor(make_client: MakeClient) -> TestResponse:
    clerk = make_user(UserRole.CLERK, make_office())
    client = make_client()
    signed = send_form(
        client, "/anmelden", "/anmelden", {"email": clerk.email or "", "password": PASSWORD}
    )
    assert signed.headers["Location"] == "/anmelden/zweiter-faktor"
    path = "/anmelden/zweiter-faktor"
    return send_form(client, path, path, {"code": next_totp(clerk)})
