"""More walks of tests/test_post_redirect_get.py: links mailed, decisions on requests,
letters and print runs, cards issued in bulk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from werkzeug.test import TestResponse

from ehrenamt.accounts import links, recovery_codes
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    LinkPurpose,
    NameChangeRequest,
    OutboxMessage,
    PrintRunState,
    UserRole,
    utcnow,
)
from ehrenamt.workflow import ApplicationState
from tests.factories import PASSWORD, make_office, make_user
from tests.forms_in_page import send_form
from tests.helpers import sign_in
from tests.mailbox import LINK, path_of
from tests.post_walks import (
    MakeClient,
    clerk_with_active_card,
    detail_path,
    signed_in_clerk,
    signed_in_partner,
    signed_in_volunteer,
)
from tests.privacy_data import make_letter, make_print_run
from tests.test_partners import make_partner


def confirm_email_change(make_client: MakeClient) -> TestResponse:
    """The link mailed to a new address, used in the volunteer's browser."""
    client, _public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
    send_form(client, "/konto/", "/konto/email", {"email": "neu@example.org"})
    [text] = [
        message.payload["text"]
        for message in db.session.scalars(select(OutboxMessage))
        if message.payload.get("to") == "neu@example.org"
    ]
    [link] = [url for url in LINK.findall(text) if "/konto/email/" in url]
    return send_form(client, path_of(link), path_of(link))


def decide_name_change(make_client: MakeClient) -> TestResponse:
    """A clerk takes over the name a volunteer asked for."""
    volunteer_client, public_id = signed_in_volunteer(make_client, ApplicationState.IN_REVIEW)
    changes = {"first_name": "Erika", "last_name": "Neumann"}
    send_form(volunteer_client, "/konto/", "/konto/name", changes)
    application = db.session.scalars(
        select(Application).where(Application.public_id == public_id)
    ).one()
    request_id = db.session.scalars(select(NameChangeRequest.id)).one()
    client = make_client()
    sign_in(client, make_user(UserRole.CLERK, application.office))
    page = detail_path(application)
    return send_form(client, page, f"{page}/namensaenderung/{request_id}", {"apply": "y"})


def recovery_code(make_client: MakeClient) -> TestResponse:
    """A clerk without their phone signs in with a recovery code."""
    clerk = make_user(UserRole.CLERK, make_office())
    codes = recovery_codes.replace_codes(clerk)
    db.session.commit()
    client = make_client()
    send_form(client, "/anmelden", "/anmelden", {"email": clerk.email or "", "password": PASSWORD})
    path = "/anmelden/wiederherstellungscode"
    return send_form(client, path, path, {"code": codes[0]})


def mark_letters_printed(make_client: MakeClient) -> TestResponse:
    """A clerk marks the waiting letters printed."""
    client, application = signed_in_clerk(make_client)
    make_letter(application)
    return send_form(client, "/verwaltung/briefe/", "/verwaltung/briefe/gedruckt")


def confirm_run_posted(make_client: MakeClient) -> TestResponse:
    """A clerk confirms a finished print run was posted."""
    client, application, card = clerk_with_active_card(make_client)
    run = make_print_run(application.office, [card], PrintRunState.READY, utcnow())
    page = f"/verwaltung/briefe/druckauftrag/{run.public_id}"
    return send_form(client, page, f"{page}/versandt")


def bulk_issue(make_client: MakeClient) -> TestResponse:
    """A clerk issues the cards of the approved applications ticked."""
    client, application = signed_in_clerk(make_client, ApplicationState.APPROVED)
    path = "/verwaltung/karten/ausstellen"
    chosen = {"selected": f"{application.public_id}:{application.version}"}
    return send_form(client, path, path, chosen)


def accept_partner_invitation(make_client: MakeClient) -> TestResponse:
    """A colleague invited by a partner uses the mailed link in a browser of their own."""
    client, _benefit = signed_in_partner(make_client)
    send_form(client, "/partner/kolleginnen", "/partner/kolleginnen", {"email": "neu@example.org"})
    [text] = [
        message.payload["text"]
        for message in db.session.scalars(select(OutboxMessage))
        if message.payload.get("to") == "neu@example.org"
    ]
    [link] = [url for url in LINK.findall(text) if "/partner/einladung/" in url]
    return send_form(make_client(), path_of(link), path_of(link))


def confirm_partner_email(make_client: MakeClient) -> TestResponse:
    """A registering partner's link to confirm its address (its page's button)."""
    _partner, user = make_partner(make_office(), confirm_email=False)
    token = links.issue_link(user, LinkPurpose.PARTNER_EMAIL, timedelta(hours=1))
    db.session.commit()
    page = f"/akzeptanzstelle/email-bestaetigen/{token}"
    return send_form(make_client(), page, page, {})


def resend_partner_confirmation(make_client: MakeClient) -> TestResponse:
    """A signed-in partner whose address is not confirmed asks for a new link."""
    _partner, user = make_partner(make_office(), confirm_email=False)
    client = make_client()
    sign_in(client, user)
    return send_form(client, "/partner/", "/partner/email-bestaetigung", {})
