"""Sending an invitation again from the staff page: a new link, the old one dead,
audited and mailed, refused when too soon or when the person has a password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from ehrenamt.accounts import staff
from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import LinkPurpose, OneTimeLink, User, UserRole, utcnow
from tests.factories import make_office, make_user
from tests.harness import at_once
from tests.helpers import page_text, post, sign_in
from tests.test_staff import (
    NEW_PASSWORD,
    act,
    audit_actions,
    invite,
    link_in,
    mails_to,
    reload,
    signed_in_admin,
)


def _invited(client: FlaskClient, email: str = "clara@example.org") -> User:
    assert invite(client, email).status_code == 302
    db.session.rollback()
    user = db.session.query(User).filter_by(email=email).one()
    return user


def age_invitation_links(user: User, by: timedelta) -> None:
    """Pretend the person's links were sent ``by`` ago (the resend waits between)."""
    db.session.rollback()
    for link in db.session.query(OneTimeLink).filter_by(user_id=user.id):
        link.created_at -= by
    db.session.commit()


def _set_password(client: FlaskClient, path: str) -> Any:
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    return post(client, path, data, page=path)


def test_a_new_link_works_and_the_old_one_does_not(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client = make_client()
    signed_in_admin(admin_client)
    clara = _invited(admin_client)
    old = link_in(mails_to("clara@example.org")[0], "/einladung/")
    member_page = page_text(admin_client.get(f"/verwaltung/mitarbeitende/{clara.id}"))
    assert "Einladung erneut senden" in member_page
    assert "Einladung offen" in member_page

    # Right after the first: refused, at the person's page, nothing sent.
    refused = act(admin_client, clara, "einladung")
    assert refused.status_code == 409
    assert "weniger als 10 Minuten" in page_text(refused)
    assert len(mails_to("clara@example.org")) == 1

    age_invitation_links(clara, staff.INVITATION_RESEND_INTERVAL + timedelta(seconds=1))
    response = act(admin_client, clara, "einladung")
    assert response.status_code == 302
    mails = mails_to("clara@example.org")
    assert len(mails) == 2
    new = link_in(mails[1], "/einladung/")
    assert new != old
    assert audit_actions(clara) == [AuditAction.INVITE_STAFF, AuditAction.RESEND_INVITATION]

    gone = _set_password(make_client(), old)
    assert gone.status_code == 410
    assert _set_password(make_client(), new).status_code == 302
    assert reload(clara).password_hash is not None


def test_no_new_invitation_once_the_password_is_set(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client = make_client()
    signed_in_admin(admin_client)
    clara = _invited(admin_client)
    assert (
        _set_password(make_client(), link_in(mails_to(clara.email)[0], "/einladung/")).status_code
        == 302
    )
    age_invitation_links(clara, timedelta(days=1))
    assert "Einladung erneut senden" not in page_text(
        admin_client.get(f"/verwaltung/mitarbeitende/{clara.id}")
    )
    refused = act(admin_client, clara, "einladung")
    assert refused.status_code == 409
    assert "Passwort schon festgelegt" in page_text(refused)
    assert len(mails_to(clara.email)) == 1
    assert AuditAction.RESEND_INVITATION not in audit_actions(clara)


def test_an_expired_invitation_can_be_sent_again(client: FlaskClient, ctx: None) -> None:
    """The usual case: the week passed before the person looked."""
    signed_in_admin(client)
    clara = _invited(client)
    db.session.execute(
        update(OneTimeLink)
        .where(OneTimeLink.user_id == clara.id)
        .values(expires_at=utcnow() - timedelta(days=1), created_at=utcnow() - timedelta(days=8))
    )
    db.session.commit()
    assert act(client, clara, "einladung").status_code == 302
    assert len(mails_to(clara.email)) == 2


def test_a_deactivated_account_gets_no_invitation(client: FlaskClient, ctx: None) -> None:
    signed_in_admin(client)
    clara = _invited(client)
    assert act(client, clara, "deaktivieren").status_code == 302
    age_invitation_links(clara, timedelta(days=1))
    refused = act(client, clara, "einladung")
    assert refused.status_code == 409 and "deaktiviert" in page_text(refused)


def test_resending_needs_the_csrf_token(client: FlaskClient, ctx: None) -> None:
    signed_in_admin(client)
    clara = _invited(client)
    age_invitation_links(clara, timedelta(days=1))
    response = client.post(f"/verwaltung/mitarbeitende/{clara.id}/einladung")
    assert response.status_code == 400
    assert len(mails_to(clara.email)) == 1


@pytest.mark.parametrize("who", ["clerk", "other office's admin"])
def test_only_an_admin_of_the_office_resends(client: FlaskClient, ctx: None, who: str) -> None:
    office = make_office()
    invited = make_user(UserRole.CLERK, office, password=None, totp=False)
    user = (
        make_user(UserRole.CLERK, office)
        if who == "clerk"
        else make_user(UserRole.ADMIN, make_office())
    )
    sign_in(client, user)
    response = act(client, invited, "einladung")
    assert response.status_code == (403 if who == "clerk" else 404)
    assert mails_to(invited.email or "") == []


def test_two_clicks_at_once_send_one_invitation(make_client, app, ctx: None) -> None:  # type: ignore[no-untyped-def]
    admin_client = make_client()
    signed_in_admin(admin_client)
    clara = _invited(admin_client)
    age_invitation_links(clara, timedelta(days=1))
    path = f"/verwaltung/mitarbeitende/{clara.id}"
    token = re.search(  # type: ignore[union-attr]
        r'name="csrf_token"[^>]*value="([^"]+)"', page_text(admin_client.get(path))
    ).group(1)

    def click(meet):  # type: ignore[no-untyped-def]
        meet()
        return admin_client.post(f"{path}/einladung", data={"csrf_token": token}).status_code

    statuses = at_once(click, click)
    assert sorted(statuses) == [302, 409], statuses
    assert len(mails_to(clara.email)) == 2
    links = db.session.query(OneTimeLink).filter_by(
        user_id=clara.id, purpose=LinkPurpose.INVITATION
    )
    assert sum(1 for link in links if link.expires_at > utcnow()) == 1
