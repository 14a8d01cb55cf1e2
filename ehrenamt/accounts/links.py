"""One-time links by e-mail: sign-in links and e-mail confirmation."""

from __future__ import annotations

import enum
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.accounts.users import find_user
from ehrenamt.core import mail, outbox, security
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import LinkPurpose, OneTimeLink, User, UserRole, utcnow


class LinkProblem(enum.StrEnum):
    """Why a one-time link does not work."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class LinkRejected(Exception):
    """A one-time link that is unknown, expired or used."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def issue_link(user: User, purpose: LinkPurpose, max_age: timedelta) -> str:
    """Create a one-time link for ``user``; returns the token (only the hash is stored)."""
    token = security.new_token()
    db.session.add(
        OneTimeLink(
            user_id=user.id,
            purpose=purpose,
            token_hash=security.hash_token(token),
            expires_at=utcnow() + max_age,
        )
    )
    return token


def consume_link(token: str, purpose: LinkPurpose) -> User:
    """Use a one-time link once; raises :class:`LinkRejected` otherwise."""
    link = db.session.scalar(
        select(OneTimeLink)
        .where(OneTimeLink.token_hash == security.hash_token(token), OneTimeLink.purpose == purpose)
        .with_for_update()
    )
    if link is None or not link.user.active:
        raise LinkRejected(LinkProblem.UNKNOWN)
    if link.used_at is not None:
        raise LinkRejected(LinkProblem.USED)
    if link.expires_at < utcnow():
        raise LinkRejected(LinkProblem.EXPIRED)
    link.used_at = utcnow()
    return link.user


def queue_email_confirmation(user: User) -> None:
    """Mail a link that confirms the address (and signs the volunteer in)."""
    token = issue_link(
        user, LinkPurpose.CONFIRM_EMAIL, current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]
    )
    with force_locale(user.language):
        mail.queue_mail(
            user.email,
            _("Bitte bestätigen Sie Ihre E-Mail-Adresse"),
            "confirm_email",
            link=external_url("auth.confirm_email", token=token),
            user=user,
        )


def send_sign_in_link(email: str) -> None:
    """Mail a one-time sign-in link if a volunteer account exists; silent otherwise.

    Staff sign in with password and second factor only, so they get no link.
    """
    user = find_user(email)
    if user is None or not user.active or user.role != UserRole.VOLUNTEER:
        return
    token = issue_link(user, LinkPurpose.SIGN_IN, current_app.config["LOGIN_LINK_MAX_AGE"])
    mail.queue_mail(
        user.email,
        _("Ihr Anmeldelink"),
        "sign_in_link",
        link=external_url("auth.sign_in_with_link", token=token),
        user=user,
    )
    outbox.commit()
