"""Accounts: volunteers, staff; passwords, one-time links and the second factor."""

from __future__ import annotations

import enum
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.extensions import db
from ehrenamt.models import LinkPurpose, Office, OneTimeLink, User, UserRole, utcnow
from ehrenamt.services import mail, outbox, security
from ehrenamt.urls import external_url


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


def normalise_email(email: str) -> str:
    """E-mail addresses are compared in lower case without surrounding space."""
    return email.strip().lower()


def find_user(email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    role: UserRole,
    *,
    password: str | None = None,
    office: Office | None = None,
    display_name: str = "",
    totp_secret: str | None = None,
    email_confirmed: bool = False,
    language: str = "de",
) -> User:
    """Add a new account to the session (the caller commits)."""
    user = User(
        email=normalise_email(email),
        role=role,
        password_hash=security.hash_password(password) if password else None,
        office_id=office.id if office else None,
        display_name=display_name,
        totp_secret=totp_secret,
        email_confirmed_at=utcnow() if email_confirmed else None,
        language=language,
    )
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active account if the password matches; the same time either way."""
    user = find_user(email)
    if not security.verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    return user


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


def enrol_totp(user: User, secret: str, code: str) -> bool:
    """Save the authenticator secret once the user proved it works with a code."""
    step = security.verify_totp(secret, code, None)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.commit()
    return True


def check_second_factor(user: User, code: str) -> bool:
    """Whether the TOTP code is right and fresh; a used code is refused."""
    if not user.totp_secret:
        return False
    step = security.verify_totp(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    db.session.commit()
    return True


def set_password(user: User, password: str) -> None:
    """Change the password and sign out other sessions."""
    user.password_hash = security.hash_password(password)
    user.session_version += 1
    db.session.commit()
