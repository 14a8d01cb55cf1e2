"""Forgotten password: a link by e-mail for every role, the same answer for any address,
limited per client and per account; the new password ends every session, and staff
still need their second factor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from ehrenamt.core import security
from ehrenamt.core.audit import AuditAction
from ehrenamt.extensions import db
from ehrenamt.models import OneTimeLink, User, UserRole, utcnow
from tests.factories import make_office, make_user
from tests.helpers import page_text, post, sign_in
from tests.test_auth import is_signed_in_as_staff, is_signed_in_as_volunteer, password_step
from tests.test_security import assert_too_many, limit_of
from tests.test_staff import audit_actions, link_in, mails_to

FORM = "/passwort-vergessen"
NEW = "another long passphrase"


def ask(client: FlaskClient, email: str):  # type: ignore[no-untyped-def]
    return post(client, FORM, {"email": email}, page=FORM)


def reset_path(email: str) -> str:
    [mail] = mails_to(email)
    return link_in(mail, "/passwort-neu/")


def set_new(client: FlaskClient, path: str, password: str = NEW):  # type: ignore[no-untyped-def]
    return post(client, path, {"password": password, "confirm": password}, page=path)


def _deactivated() -> User:
    user = make_user(UserRole.VOLUNTEER)
    user.active = False
    db.session.commit()
    return user


@pytest.mark.parametrize("who", ["volunteer", "partner", "clerk", "unknown", "deactivated"])
def test_the_answer_is_the_same_for_every_address(client: FlaskClient, ctx: None, who: str) -> None:
    """Only an active account gets a mail; the page says the same to everyone."""
    if who == "unknown":
        email = "nobody@example.org"
    elif who == "deactivated":
        email = _deactivated().email
    else:
        email = make_user(UserRole(who), make_office()).email
    response = ask(client, email)
    assert response.status_code == 302 and response.headers["Location"] == "/anmelden"
    assert "Wenn es ein Konto zu dieser Adresse gibt" in page_text(client.get("/anmelden"))
    assert len(mails_to(email)) == (1 if who in ("volunteer", "partner", "clerk") else 0)


def test_the_link_sets_a_new_password_and_ends_sessions(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    volunteer = make_user(UserRole.VOLUNTEER)
    elsewhere = make_client()
    sign_in(elsewhere, volunteer)
    ask(make_client(), volunteer.email)
    path = reset_path(volunteer.email)
    token = path.rsplit("/", 1)[1]
    stored = db.session.scalar(select(OneTimeLink.token_hash))
    assert stored == security.hash_token(token)
    client = make_client()
    assert "Neues Passwort festlegen" in page_text(client.get(path))
    assert set_new(client, path).status_code == 302
    assert not is_signed_in_as_volunteer(elsewhere), "every session ended"
    assert not is_signed_in_as_volunteer(client), "the link signs nobody in"
    assert password_step(make_client(), volunteer.email).status_code == 200, "old one is gone"
    assert password_step(make_client(), volunteer.email, NEW).status_code == 302
    assert set_new(make_client(), path, "yet another passphrase").status_code == 410
    assert audit_actions(volunteer) == [AuditAction.RESET_PASSWORD]


def test_staff_still_need_the_second_factor(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    clerk = make_user(UserRole.CLERK, make_office())
    ask(make_client(), clerk.email)
    client = make_client()
    assert set_new(client, reset_path(clerk.email)).status_code == 302
    response = password_step(client, clerk.email, NEW)
    assert response.headers["Location"] == "/anmelden/zweiter-faktor"
    assert not is_signed_in_as_staff(client)


def test_an_expired_or_unknown_link_is_refused(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    volunteer = make_user(UserRole.VOLUNTEER)
    ask(make_client(), volunteer.email)
    path = reset_path(volunteer.email)
    db.session.execute(update(OneTimeLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert set_new(make_client(), path).status_code == 410
    assert set_new(make_client(), "/passwort-neu/not-a-token").status_code == 404
    assert password_step(make_client(), volunteer.email, NEW).status_code == 200


def test_a_sign_in_link_is_no_reset_link(make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Each link is good for its own purpose only."""
    from ehrenamt.accounts import links
    from ehrenamt.models import LinkPurpose

    volunteer = make_user(UserRole.VOLUNTEER)
    token = links.issue_link(volunteer, LinkPurpose.SIGN_IN, timedelta(hours=1))
    db.session.commit()
    assert set_new(make_client(), f"/passwort-neu/{token}").status_code == 404
    assert set_new(make_client(), f"/einladung/{token}").status_code == 404


@pytest.mark.parametrize(
    ("email", "status"), [("", 400), ("not-an-address", 400), ("x" * 300 + "@e.org", 400)]
)
def test_a_bad_address_gets_a_field_error(
    client: FlaskClient, ctx: None, email: str, status: int
) -> None:
    response = ask(client, email)
    assert response.status_code == status and 'id="email-error"' in page_text(response)


def test_requests_are_limited_per_account(app: Flask, make_client, ctx: None) -> None:  # type: ignore[no-untyped-def]
    """Many clients cannot flood one person's mailbox with reset links."""
    volunteer = make_user(UserRole.VOLUNTEER)
    for n in range(limit_of(app, "RATELIMIT_MAGIC_LINK")):
        client = make_client()
        client.environ_base["REMOTE_ADDR"] = f"10.5.0.{n + 1}"
        assert ask(client, volunteer.email).status_code == 302, n
    client = make_client()
    client.environ_base["REMOTE_ADDR"] = "10.5.1.1"
    assert_too_many(ask(client, volunteer.email.upper()))
    assert ask(client, "someone-else@example.org").status_code == 302


def test_requests_are_limited_per_client(app: Flask, client: FlaskClient, ctx: None) -> None:
    for n in range(limit_of(app, "RATELIMIT_MAGIC_LINK")):
        assert ask(client, f"person{n}@example.org").status_code == 302, n
    assert_too_many(ask(client, "one-more@example.org"))
