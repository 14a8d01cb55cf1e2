"""Post/redirect/get everywhere (issue #14): a form a person sent successfully is answered
with a redirect, so the browser's Back never lands on "resubmit form?".

Every POST route of the app is decided here: walked (its form read from its page, filled
as a person would, sent, and the answer must be a redirect) or exempt with the reason.
A new POST route fails test_every_post_route_is_decided until it is one or the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ehrenamt.core import security
from ehrenamt.extensions import db
from ehrenamt.models import Application, CardState, PartnerState, UserRole, utcnow
from ehrenamt.workflow import ApplicationState
from tests.factories import (
    PASSWORD,
    application_form_data,
    make_application,
    make_office,
    make_user,
)
from tests.forms_in_page import send_form
from tests.helpers import post, sign_in
from tests.privacy_data import make_card
from tests.test_partners import make_partner, registration_data

MakeClient = Callable[[], FlaskClient]
Walk = Callable[[MakeClient], TestResponse]

#: POST routes not walked here, and why.
EXEMPT = {
    # JSON answers to scripts and tills: no page a browser goes Back to.
    "api.verify": "the till API (JSON)",
    "apply.eligibility": "the form's live check (JSON, fetched by its script)",
    "verify.result_json": "the scan page's script (JSON)",
    # A secret shown once is never stored to be shown after a redirect, not even in the
    # session cookie; re-sending makes a new one and the page says so.
    "api_keys.create": "shows the new API key once (a secret kept nowhere)",
    "auth.enrol_second_factor": "shows the recovery codes once (secrets kept nowhere)",
    "auth.recovery_codes": "shows new recovery codes once (secrets kept nowhere)",
    # Dry runs of an uploaded file: nothing changes until the go-ahead (a POST that
    # redirects); re-sending only checks the file again.
    "legacy.upload": "dry run of an uploaded file; the go-ahead (legacy.start) redirects",
    "partner_admin.import_csv": "dry run of an uploaded file; the go-ahead redirects",
    # Not walked yet (redirect on success read in the view; see the note of issue #14).
    "apply.paper_form": "redirects to review.detail (web/apply/paper.py _enter)",
    "auth.second_factor": "redirects home (walked by every staff sign-in in tests.helpers)",
    "auth.recovery_code": "redirects home or to enrolment (tests/test_recovery_codes.py)",
    "auth.sign_in_with_link": "redirects to the account (tests/test_auth.py)",
    "auth.confirm_email": "redirects to the account (tests/test_apply.py)",
    "account.confirm_email_change": "redirects to the account (web/account/corrections.py)",
    "passwords.reset_password": "redirects to sign in (tests/test_password_reset.py)",
    "passwords.accept_invitation": "redirects to sign in (tests/test_password_reset.py)",
    "partners.accept_invitation": "redirects to the password page (web/partners/views.py)",
    "partners.colleagues": "redirects to itself (web/partners/views.py)",
    "register.replace_lost": "redirects to the new card (web/register/views.py _act)",
    "register.reissue": "redirects to the card (web/register/views.py _act)",
    "register.extend": "redirects to the card (web/register/views.py _act)",
    "register.bulk_issue": "redirects to the batch (web/register/views.py)",
    "review.decide_name_change": "redirects to the detail (web/review/name_changes.py)",
    "review.erase_applicant": "redirects to the queue (web/review/views.py)",
    "staff.change_role": "redirects to the member (web/admin/staff.py _act)",
    "staff.deactivate": "redirects to the member (web/admin/staff.py _act)",
    "staff.reactivate": "redirects to the member (web/admin/staff.py _act)",
    "staff.reset_second_factor": "redirects to the member (web/admin/staff.py _act)",
    "admin.upload_logo": "redirects to the settings (web/admin/office_settings.py)",
    "admin.remove_logo": "redirects to the settings (web/admin/office_settings.py)",
    "admin.apply_preset": "redirects to the rules (web/admin/views.py)",
    "partner_admin.decline": "redirects to the detail (web/partner_admin/views.py)",
    "partner_admin.invite_account": "redirects to the detail (web/partner_admin/views.py)",
    "partner_admin.unpublish_benefit": "redirects to the partner (_set_unpublished)",
    "partner_admin.republish_benefit": "redirects to the partner (_set_unpublished)",
    "partner_admin.import_confirmed": "redirects to the list (web/partner_admin/views.py)",
    "legacy.start": "redirects to the progress page (web/legacy/views.py)",
    "letters.new_print_run": "redirects to the run (tests/test_browser_print_run.py)",
    "letters.confirm_posted": "redirects to the run (web/letters/print_views.py)",
    "letters.mark_printed": "redirects to the letters (web/letters/views.py)",
    "programme.new_office": "redirects to the offices (web/programme/views.py)",
    "programme.switch_office": "redirects to the queue (web/programme/views.py)",
    "api_keys.revoke": "redirects to the keys (web/api/keys.py)",
}


# --- people and their objects ----------------------------------------------------------


def _volunteer(make_client: MakeClient, state: ApplicationState) -> tuple[FlaskClient, str]:
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


def _clerk(
    make_client: MakeClient, state: ApplicationState = ApplicationState.IN_REVIEW
) -> tuple[FlaskClient, Application]:
    """A signed-in clerk and an application of their office in ``state``."""
    office = make_office()
    application = make_application(office, state=state)
    client = make_client()
    sign_in(client, make_user(UserRole.CLERK, office))
    return client, application


def _admin(make_client: MakeClient) -> FlaskClient:
    client = make_client()
    sign_in(client, make_user(UserRole.ADMIN, make_office()))
    return client


def _partner(make_client: MakeClient) -> tuple[FlaskClient, str]:
    """A signed-in partner; the public id of its benefit."""
    partner, user = make_partner(make_office())
    client = make_client()
    sign_in(client, user)
    return client, partner.benefits[0].public_id


def _detail(application: Application) -> str:
    return f"/verwaltung/antrag/{application.public_id}"


# --- the walks -------------------------------------------------------------------------


def _apply(make_client: MakeClient) -> TestResponse:
    office = make_office()
    return post(make_client(), "/antrag/", application_form_data(office), page="/antrag/")


def _save_draft(make_client: MakeClient) -> TestResponse:
    office = make_office()
    data = {"office": str(office.id), "email": "entwurf@example.org", "first_name": "Erika"}
    return post(make_client(), "/antrag/entwurf", data, page="/antrag/")


def _confirm(make_client: MakeClient) -> TestResponse:
    waiting = make_application(make_office(), state=ApplicationState.AWAITING_CONFIRMATION)
    token = security.new_token()
    engagement = waiting.engagements[0]
    engagement.token_hash = security.hash_token(token)
    engagement.token_expires_at = utcnow() + timedelta(days=14)
    db.session.commit()
    path = f"/bestaetigung/{token}"
    return send_form(make_client(), path, path, {"answer": "confirm"})


def _answer(make_client: MakeClient) -> TestResponse:
    client, public_id = _volunteer(make_client, ApplicationState.NEEDS_INFORMATION)
    page = f"/konto/antrag/{public_id}"
    return send_form(client, page, f"{page}/antworten", {"answer": "Nachweis folgt per Post."})


def _withdraw(make_client: MakeClient) -> TestResponse:
    client, public_id = _volunteer(make_client, ApplicationState.IN_REVIEW)
    path = f"/konto/antrag/{public_id}/zurueckziehen"
    return send_form(client, path, path)


def _account(action: str, changes: dict[str, str]) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, _public_id = _volunteer(make_client, ApplicationState.IN_REVIEW)
        return send_form(client, "/konto/", action, changes)

    return walk


def _reauthenticate(make_client: MakeClient) -> TestResponse:
    client, _public_id = _volunteer(make_client, ApplicationState.IN_REVIEW)
    path = "/konto/bestaetigen"
    return send_form(client, path, path, {"password": PASSWORD})


def _delete_account(make_client: MakeClient) -> TestResponse:
    client, _public_id = _volunteer(make_client, ApplicationState.REJECTED)
    return send_form(client, "/konto/loeschen", "/konto/loeschen", {"confirm": "y"})


def _review(action: str, changes: dict[str, str], state: ApplicationState) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, application = _clerk(make_client, state)
        page = _detail(application)
        return send_form(client, page, f"{page}/{action}", changes)

    return walk


def _engagement_action(make_client: MakeClient) -> TestResponse:
    client, application = _clerk(make_client, ApplicationState.AWAITING_CONFIRMATION)
    page = _detail(application)
    return send_form(client, page, f"{page}/organisation", {"resend": "y"})


def _correct(make_client: MakeClient) -> TestResponse:
    client, application = _clerk(make_client)
    path = f"{_detail(application)}/korrigieren"
    return send_form(
        client, path, path, {"town": "Roßlau", "correction_reason": "Umzug laut Telefonat"}
    )


def _revoke(make_client: MakeClient) -> TestResponse:
    client, application = _clerk(make_client, ApplicationState.APPROVED)
    card = make_card(
        application,
        state=CardState.ACTIVE,
        valid_from=date.today(),
        valid_until=date.today() + timedelta(days=700),
    )
    page = f"/verwaltung/karten/{card.public_id}"
    return send_form(client, page, f"{page}/sperren", {"reason": "lost"})


def _partner_register(make_client: MakeClient) -> TestResponse:
    path = "/akzeptanzstelle/registrieren"
    return post(make_client(), path, registration_data(make_office()), page=path)


def _partner_form(page: str, action: str, changes: dict[str, str]) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        client, benefit = _partner(make_client)
        return send_form(
            client, page.format(benefit=benefit), action.format(benefit=benefit), changes
        )

    return walk


def _check_card(make_client: MakeClient) -> TestResponse:
    client, _benefit = _partner(make_client)
    return send_form(client, "/pruefen/", "/pruefen/", {"code": "K7QM-3RXA-9TWP"})


def _admin_form(path: str, changes: dict[str, str], action: str | None = None) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        return send_form(_admin(make_client), path, action or path, changes)

    return walk


def _approve_partner(make_client: MakeClient) -> TestResponse:
    office = make_office()
    partner, _user = make_partner(office, approve=False)
    assert partner.state == PartnerState.PENDING
    client = make_client()
    sign_in(client, make_user(UserRole.CLERK, office))
    page = f"/verwaltung/partner/{partner.public_id}"
    return send_form(client, page, f"{page}/bestaetigen")


def _login(make_client: MakeClient) -> TestResponse:
    volunteer = make_user(UserRole.VOLUNTEER)
    return send_form(
        make_client(),
        "/anmelden",
        "/anmelden",
        {"email": volunteer.email or "", "password": PASSWORD},
    )


def _logout(make_client: MakeClient) -> TestResponse:
    client, _public_id = _volunteer(make_client, ApplicationState.IN_REVIEW)
    return send_form(client, "/konto/", "/abmelden")


def _anonymous(path: str, changes: dict[str, str], action: str | None = None) -> Walk:
    def walk(make_client: MakeClient) -> TestResponse:
        make_office()
        return send_form(make_client(), path, action or path, changes)

    return walk


IN_REVIEW = ApplicationState.IN_REVIEW

WALKS: dict[str, Walk] = {
    # The applicant
    "apply.form": _apply,
    "apply.save_draft": _save_draft,
    "account.answer": _answer,
    "account.withdraw": _withdraw,
    "account.set_password": _account(
        "/konto/passwort",
        {"password": "ein neues Passwort 456", "confirm": "ein neues Passwort 456"},
    ),
    "account.change_address": _account(
        "/konto/anschrift",
        {"street": "Askanische Straße 5", "postcode": "06842", "town": "Dessau-Roßlau"},
    ),
    "account.request_name_change": _account(
        "/konto/name", {"first_name": "Erika", "last_name": "Neumann"}
    ),
    "account.change_email": _account("/konto/email", {"email": "neu@example.org"}),
    "account.request_export": _account("/konto/daten/export", {}),
    "account.reauthenticate": _reauthenticate,
    "account.delete_account": _delete_account,
    # The organisation
    "confirm.respond": _confirm,
    # The clerk
    "review.approve": _review("bewilligen", {}, IN_REVIEW),
    "review.reject": _review(
        "ablehnen", {"reason": "too_few_hours", "text": "Die Stunden reichen nicht."}, IN_REVIEW
    ),
    "review.request_information": _review(
        "rueckfrage", {"question": "Seit wann genau?"}, IN_REVIEW
    ),
    "review.record_answer": _review(
        "antwort", {"answer": "Telefonisch: seit 2019."}, ApplicationState.NEEDS_INFORMATION
    ),
    "review.start_review": _review(
        "pruefung-beginnen",
        {"note": "Organisation telefonisch erreicht."},
        ApplicationState.AWAITING_CONFIRMATION,
    ),
    "review.engagement_action": _engagement_action,
    "review.correct": _correct,
    "register.revoke": _revoke,
    "partner_admin.approve": _approve_partner,
    # The partner
    "partners.register": _partner_register,
    "partners.profile": _partner_form("/partner/profil", "/partner/profil", {"town": "Roßlau"}),
    "partners.add_benefit": _partner_form(
        "/partner/verguenstigungen/neu", "/partner/verguenstigungen/neu", {"title": "Kaffee gratis"}
    ),
    "partners.edit_benefit": _partner_form(
        "/partner/verguenstigungen/{benefit}",
        "/partner/verguenstigungen/{benefit}",
        {"title": "Freier Eintritt sonntags"},
    ),
    "partners.delete_benefit": _partner_form(
        "/partner/verguenstigungen/{benefit}", "/partner/verguenstigungen/{benefit}/loeschen", {}
    ),
    "partners.password": _partner_form(
        "/partner/passwort",
        "/partner/passwort",
        {"password": "ein neues Passwort 456", "confirm": "ein neues Passwort 456"},
    ),
    "verify.scan": _check_card,
    # The office admin
    "admin.edit_office": _admin_form(
        "/verwaltung/einstellungen/amt", {"opening_hours": "Mo–Fr 9–12 Uhr"}
    ),
    "admin.edit_rules": _admin_form("/verwaltung/einstellungen/regeln", {}),
    "admin.edit_retention": _admin_form("/verwaltung/einstellungen/aufbewahrung", {}),
    "staff.invite": _admin_form(
        "/verwaltung/mitarbeitende/",
        {"email": "neu@stadt.example.org", "display_name": "Neue Kollegin"},
        "/verwaltung/mitarbeitende/einladen",
    ),
    # Anyone
    "auth.login": _login,
    "auth.logout": _logout,
    "auth.request_sign_in_link": _anonymous("/anmelden/link", {"email": "x@example.org"}),
    "passwords.forgotten_password": _anonymous("/passwort-vergessen", {"email": "x@example.org"}),
    "public.set_language": _anonymous("/", {"language": "en"}, "/sprache"),
}


def test_every_post_route_is_decided(session_app: Flask) -> None:
    """Each POST route is walked or exempt (with its reason), and not both."""
    posts = {
        rule.endpoint
        for rule in session_app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
    }
    assert set(WALKS) & set(EXEMPT) == set()
    assert posts - set(WALKS) - set(EXEMPT) == set(), "decide these POST routes"
    assert (set(WALKS) | set(EXEMPT)) - posts == set(), "no such POST routes any more"


@pytest.mark.parametrize("endpoint", sorted(WALKS))
def test_a_form_sent_successfully_is_answered_with_a_redirect(
    endpoint: str, app: Flask, ctx: None, make_client: MakeClient
) -> None:
    response = WALKS[endpoint](make_client)
    html = response.get_data(as_text=True)
    # Where a refused form says why: its error summary (or the page's start).
    why = html[html.find("error-summary") :][:3000] if "error-summary" in html else html[:3000]
    assert response.status_code in (302, 303), (endpoint, response.status_code, why)
    assert response.headers.get("Location"), endpoint
