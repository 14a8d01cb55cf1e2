"""Walks of tests/test_post_redirect_get.py for staff accounts: an invitation sent again,
and the programme's administrators run by one another."""

from __future__ import annotations

from datetime import timedelta

from werkzeug.test import TestResponse

from ehrenamt.accounts import programme_admins, staff
from ehrenamt.core.audit import Acting
from ehrenamt.extensions import db
from ehrenamt.models import UserRole
from ehrenamt.workflow import Actor
from tests.factories import make_office, make_user
from tests.forms_in_page import send_form
from tests.helpers import sign_in
from tests.post_walks import MakeClient, Walk
from tests.test_staff_invitation import age_invitation_links

PROGRAMME_ADMINS = "/programm/administration/"


def resend_staff_invitation(make_client: MakeClient) -> TestResponse:
    """The office admin sends an invitation again, an hour after the first."""
    office = make_office()
    admin = make_user(UserRole.ADMIN, office)
    invited = staff.invite_staff(
        Acting.user_as(admin, Actor.ADMIN),
        office.id,
        "clara@example.org",
        "Clara",
        UserRole.CLERK,
    )
    age_invitation_links(invited, timedelta(hours=1))
    client = make_client()
    sign_in(client, admin)
    page = f"/verwaltung/mitarbeitende/{invited.id}"
    return send_form(client, page, f"{page}/einladung", {})


def invite_programme_admin(make_client: MakeClient) -> TestResponse:
    client = make_client()
    sign_in(client, make_user(UserRole.PROGRAMME_ADMIN, make_office()))
    return send_form(
        client,
        PROGRAMME_ADMINS,
        f"{PROGRAMME_ADMINS}einladen",
        {"email": "petra@example.org", "display_name": "Petra Programm"},
    )


def programme_admin(action: str, *, active: bool = True, invited: bool = False) -> Walk:
    """A programme administrator on another one's page (invited: no password yet)."""

    def walk(make_client: MakeClient) -> TestResponse:
        acting = make_user(UserRole.PROGRAMME_ADMIN, make_office())
        if invited:
            other = programme_admins.invite_programme_admin(acting, "petra@example.org", "Petra")
            age_invitation_links(other, timedelta(hours=1))
        else:
            other = make_user(UserRole.PROGRAMME_ADMIN, None)
        if not active:
            other.active = False
            db.session.commit()
        client = make_client()
        sign_in(client, acting)
        page = f"{PROGRAMME_ADMINS}{other.id}"
        return send_form(client, page, f"{page}/{action}", {})

    return walk
