"""Corrections by the volunteer (DSGVO Art. 16): the e-mail address, confirmed by a link
to the new address with a notice to the old one, and the postal address.

A change of name goes to the office as a request (:mod:`ehrenamt.privacy.name_change`):
the name is printed on the card and signed into its code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from ehrenamt.accounts import users
from ehrenamt.accounts.links import LinkProblem, LinkRejected
from ehrenamt.accounts.users import find_user, normalise_email
from ehrenamt.applications import recheck
from ehrenamt.core import audit, mail, outbox, security
from ehrenamt.core.audit import Acting, AuditAction
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    EmailChange,
    User,
    utcnow,
)
from ehrenamt.workflow import OPEN_STATES, Actor, ApplicationState


class Refusal(enum.StrEnum):
    """Why a correction cannot be made."""

    SAME = "same"
    TAKEN = "taken"
    NOTHING_TO_CORRECT = "nothing_to_correct"


class CorrectionRefused(Exception):
    """A correction that cannot be made as asked."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


def _acting(user: User) -> Acting:
    return Acting.user_as(user, Actor.APPLICANT)


def request_email_change(user: User, new_email: str) -> None:
    """Mail a confirmation link to ``new_email`` and a notice to the current address;
    nothing changes until the link is used. Commits."""
    new = normalise_email(new_email)
    if new == user.email:
        raise CorrectionRefused(Refusal.SAME)
    if find_user(new) is not None:
        raise CorrectionRefused(Refusal.TAKEN)
    # Only the newest request counts: an older link must not change the address later.
    db.session.execute(
        delete(EmailChange).where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
    )
    token = security.new_token()
    hours = current_app.config["EMAIL_CHANGE_MAX_AGE_HOURS"]
    # Set here, before the mails are queued, not at the flush: the new address counts
    # from this moment (address_periods), and its confirmation mail must fall after it.
    now = utcnow()
    db.session.add(
        EmailChange(
            user_id=user.id,
            new_email=new,
            token_hash=security.hash_token(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    with force_locale(user.language):
        mail.queue_mail(
            new,
            _("Bitte bestätigen Sie Ihre neue E-Mail-Adresse"),
            "email_change_confirm",
            link=external_url("account.confirm_email_change", token=token),
            hours=hours,
        )
        mail.queue_mail(
            users.email_of(user),
            _("Ihre E-Mail-Adresse soll geändert werden"),
            "email_change_notice",
            new_email=new,
        )
    audit.record(
        _acting(user),
        subject_type=audit.Subject.USER,
        subject_id=user.id,
        action=AuditAction.REQUEST_EMAIL_CHANGE,
        office_id=None,
    )
    outbox.commit()


def confirm_email_change(user: User, token: str) -> None:
    """Use the link: the account's address becomes the new one. Commits.

    Raises :class:`LinkRejected` for a link that is unknown, expired, used, or another
    person's (the signed-in ``user`` must be the one who asked), and
    :class:`CorrectionRefused` if the address got an account meanwhile.
    """
    change = db.session.scalar(
        select(EmailChange)
        .where(EmailChange.token_hash == security.hash_token(token))
        .with_for_update()
    )
    if change is None or change.user_id != user.id:
        raise LinkRejected(LinkProblem.UNKNOWN)
    if change.used_at is not None:
        raise LinkRejected(LinkProblem.USED)
    if change.expires_at < utcnow():
        raise LinkRejected(LinkProblem.EXPIRED)
    if find_user(change.new_email) is not None:
        raise CorrectionRefused(Refusal.TAKEN)
    now = utcnow()
    change.old_email = user.email
    user.email = change.new_email
    # The link reached the new address: that proves it.
    user.email_confirmed_at = now
    change.used_at = now
    audit.record(
        _acting(user),
        subject_type=audit.Subject.USER,
        subject_id=user.id,
        action=AuditAction.CHANGE_EMAIL,
        office_id=None,
    )
    try:
        db.session.commit()
    except IntegrityError:  # another account took the address in the same moment
        db.session.rollback()
        raise CorrectionRefused(Refusal.TAKEN) from None


@dataclass(frozen=True)
class AddressPeriod:
    """An e-mail address the account has had, and when mails to it were the person's."""

    email: str
    #: None: from the start (the account's first address).
    since: datetime | None
    #: None: the account's address now.
    until: datetime | None


def address_periods(user: User) -> list[AddressPeriod]:
    """The account's addresses, earlier ones first, each bounded in time: an address
    given up may be someone else's later, and the address before may have been someone
    else's earlier. A new address counts from the request (its confirmation link went
    there), an old one until the change. Earlier addresses are known as long as their
    :class:`EmailChange` row lives (as long as mails to them are kept)."""
    changes = db.session.scalars(
        select(EmailChange)
        .where(
            EmailChange.user_id == user.id,
            EmailChange.used_at.is_not(None),
            EmailChange.old_email.is_not(None),
        )
        .order_by(EmailChange.used_at)
    ).all()
    periods: list[AddressPeriod] = []
    since: datetime | None = None
    for change in changes:
        periods.append(AddressPeriod(str(change.old_email), since, change.used_at))
        since = change.created_at
    if user.email:
        periods.append(AddressPeriod(user.email, since, None))
    return periods


def address_applications(user_id: int) -> list[Application]:
    """The applications whose postal address is the volunteer's current one: those still
    open and those approved (the card holder's data), newest first."""
    return list(
        db.session.scalars(
            select(Application)
            .where(
                Application.applicant_id == user_id,
                or_(
                    Application.state.in_(OPEN_STATES),
                    Application.state == ApplicationState.APPROVED,
                ),
            )
            .order_by(Application.id.desc())
        )
    )


def change_address(user: User, street: str, postcode: str, town: str) -> int:
    """Correct the postal address on the volunteer's current applications, each change
    in the application's history for the office to see; returns how many. Commits.

    The card does not show the address, so a card stays valid as it is.
    """
    applications = address_applications(user.id)
    if not applications:
        raise CorrectionRefused(Refusal.NOTHING_TO_CORRECT)
    changed = 0
    for application in applications:
        if (application.street, application.postcode, application.town) == (
            street,
            postcode,
            town,
        ):
            continue
        before = recheck.checks_before(application)
        application.street, application.postcode, application.town = street, postcode, town
        audit.record_change(_acting(user), application, AuditAction.CORRECT_ADDRESS)
        # The place rule reads the address: an open application is checked again.
        recheck.record_recheck(application, _acting(user), before)
        changed += 1
    db.session.commit()
    return changed
