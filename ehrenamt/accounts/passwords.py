"""Passwords set with a one-time link: a forgotten password, and a staff invitation.

A new password ends every session of the account. Staff still sign in with their
second factor afterwards: the link only ever sets the password.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _

from ehrenamt.accounts import links, users
from ehrenamt.core import audit, mail, outbox, security
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import STAFF_ROLES, LinkPurpose, User, utcnow

#: How long a link to set a forgotten password works: short, it replaces the password.
RESET_MAX_AGE = timedelta(hours=1)


def send_password_reset(email: str) -> None:
    """Mail a link to set a new password if an active account has this address; silent
    otherwise, so the answer tells nobody whether an address has an account."""
    user = users.find_user(email)
    if user is None or not user.active:
        return
    token = links.issue_link(user, LinkPurpose.RESET_PASSWORD, RESET_MAX_AGE)
    with force_locale(user.language):
        mail.queue_mail(
            users.email_of(user),
            _("Neues Passwort für die Ehrenamtskarte"),
            "password_reset",
            user=user,
            link=external_url("passwords.reset_password", token=token),
            minutes=int(RESET_MAX_AGE.total_seconds() // 60),
        )
    outbox.commit()


def set_password_with_link(token: str, purpose: LinkPurpose, password: str) -> User:
    """Use a reset or invitation link once to set ``password``; raises
    :class:`links.LinkRejected` otherwise. Every session of the account ends. Commits."""
    user = links.consume_link(token, purpose)
    if purpose == LinkPurpose.INVITATION and user.role not in STAFF_ROLES:
        outbox.rollback()
        raise links.LinkRejected(links.LinkProblem.UNKNOWN)
    user.password_hash = security.hash_password(password)
    user.session_version += 1
    # The link came to the address, which proves it.
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    if purpose == LinkPurpose.RESET_PASSWORD:
        audit.record(
            audit.Acting.system(),
            subject_type=audit.Subject.USER,
            subject_id=user.id,
            action=audit.AuditAction.RESET_PASSWORD,
            office_id=user.office_id,
            reason="password set with an e-mailed link",
        )
    db.session.commit()
    return user
