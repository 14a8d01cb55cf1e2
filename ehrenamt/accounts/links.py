"""One-time links by e-mail: sign-in links and e-mail confirmation."""

from __future__ import annotations

import enum
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, select, update

from ehrenamt.accounts.users import email_of, find_user
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


def expire_links(user_ids: Select[int] | list[int], purpose: LinkPurpose) -> None:
    """Every unused link of ``purpose`` for these users stops working now (a new one
    replaces them, or what they were mailed for has changed)."""
    now = utcnow()
    owned: ColumnElement[bool] = OneTimeLink.user_id.in_(user_ids)
    db.session.execute(
        update(OneTimeLink)
        .where(
            owned,
            OneTimeLink.purpose == purpose,
            OneTimeLink.used_at.is_(None),
            OneTimeLink.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


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


#: The mail template and the page of each link a volunteer is mailed.
_LINK_MAILS = {
    LinkPurpose.CONFIRM_EMAIL: ("confirm_email", "auth.confirm_email"),
    LinkPurpose.SIGN_IN: ("sign_in_link", "auth.sign_in_with_link"),
}


def _mail_link(user: User, purpose: LinkPurpose, max_age: timedelta, subject: str) -> None:
    """Issue a one-time link for ``user`` and queue the mail that carries it."""
    template, page = _LINK_MAILS[purpose]
    token = issue_link(user, purpose, max_age)
    mail.queue_mail(
        email_of(user), subject, template, link=external_url(page, token=token), user=user
    )


def queue_email_confirmation(user: User) -> None:
    """Mail a link that confirms the address (and signs the volunteer in)."""
    max_age = current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]
    with force_locale(user.language):
        _mail_link(
            user, LinkPurpose.CONFIRM_EMAIL, max_age, _("Bitte bestätigen Sie Ihre E-Mail-Adresse")
        )


def send_sign_in_link(email: str) -> None:
    """Mail a one-time sign-in link if a volunteer account exists; silent otherwise.

    Staff sign in with password and second factor only, so they get no link.
    """
    user = find_user(email)
    if user is None or not user.active or user.role != UserRole.VOLUNTEER:
        return
    max_age = current_app.config["LOGIN_LINK_MAX_AGE"]
    _mail_link(user, LinkPurpose.SIGN_IN, max_age, _("Ihr Anmeldelink"))
    outbox.commit()
