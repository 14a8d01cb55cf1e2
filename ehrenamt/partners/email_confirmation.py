"""A registering partner proves its e-mail address by a one-time link.

The directory lists a partner only once staff approved it *and* its address is
confirmed (:func:`ehrenamt.partners.listing.is_listed`): staff may decide first, and the
listing then waits for the link. The link is the accounts' one-time link (only its
hash stored, expiring, used once), so the retention job deletes it with the others.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from ehrenamt.accounts import links, users
from ehrenamt.core import mail, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import DomainError
from ehrenamt.core.turns import wait_for_turn
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    LinkPurpose,
    OneTimeLink,
    Partner,
    PartnerMember,
    PartnerState,
    User,
    utcnow,
)
from ehrenamt.partners.benefits import sync_benefit

#: Staff send a partner a new link at most this often (as a staff invitation,
#: :data:`ehrenamt.accounts.staff.INVITATION_RESEND_INTERVAL`): a double click, or a
#: clerk clicking on and on, must not fill the partner's mailbox.
STAFF_RESEND_INTERVAL = timedelta(minutes=10)


class ConfirmationNotResent(DomainError):
    """No new link from staff: the address is confirmed, the registration declined, the
    partner has no account the link could name, or a link went out just now. The
    message says which (for the page)."""


def confirmation_link(user: User) -> str:
    """Issue a link that confirms the address of ``user``'s partner; the URL to mail."""
    max_age = current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]
    token = links.issue_link(user, LinkPurpose.PARTNER_EMAIL, max_age)
    return external_url("partners.confirm_email", token=token)


def resend_confirmation(partner: Partner, user: User) -> bool:
    """Mail a new link to the partner's address unless it is confirmed already; earlier
    links keep working until they expire. Returns whether a mail was queued."""
    if partner.email_confirmed_at is not None:
        return False
    _queue_confirmation(partner, user)
    outbox.commit()
    return True


def resend_confirmation_by_staff(partner: Partner, acting: Acting) -> None:
    """Staff of the partner's office mail a new link to its address (audited), e.g. after
    the partner called because the first mail went astray.

    Earlier links keep working until they expire, as with the partner's own resend: they
    prove the same address (only a new address ends them: :func:`address_changed`). At
    most one link per :data:`STAFF_RESEND_INTERVAL`, whoever asked for the last one.
    Raises :class:`NotPermitted` for another office's staff and
    :class:`ConfirmationNotResent`. Commits.
    """
    check_staff(acting, partner.office_id, partner.public_id)
    # One resend at a time per partner: the second of two clicks sees the first's link.
    wait_for_turn(partner, Partner.email)
    if partner.email_confirmed_at is not None:
        raise ConfirmationNotResent(_("Die E-Mail-Adresse ist bereits bestätigt."))
    if partner.state == PartnerState.DECLINED:
        # Confirming would list nothing: the directory never shows a declined partner.
        raise ConfirmationNotResent(_("Die Registrierung ist abgelehnt."))
    members = select(PartnerMember.user_id).where(PartnerMember.partner_id == partner.id)
    user = db.session.scalar(
        select(User).where(User.id.in_(members), User.active).order_by(User.id).limit(1)
    )
    if user is None:
        # The link is an account's one-time link: without an account it names nobody.
        raise ConfirmationNotResent(
            _("Die Akzeptanzstelle hat keinen aktiven Zugang; laden Sie zuerst einen ein.")
        )
    last = db.session.scalar(
        select(func.max(OneTimeLink.created_at)).where(
            OneTimeLink.user_id.in_(members), OneTimeLink.purpose == LinkPurpose.PARTNER_EMAIL
        )
    )
    if last is not None and last > utcnow() - STAFF_RESEND_INTERVAL:
        raise ConfirmationNotResent(
            _(
                "Der letzte Bestätigungslink ging vor weniger als %(minutes)s Minuten hinaus; "
                "bitte versuchen Sie es später noch einmal.",
                minutes=int(STAFF_RESEND_INTERVAL.total_seconds() // 60),
            )
        )
    record_change(acting, partner, AuditAction.RESEND_CONFIRMATION, reason=partner.email)
    _queue_confirmation(partner, user)
    outbox.commit()


def address_changed(partner: Partner, user: User) -> None:
    """The partner gave a new contact address (``user`` did): it is unproven until its
    own link is used, so the directory stops listing the partner, and links mailed to the
    old address stop working (they would prove the new one). The caller commits."""
    partner.email_confirmed_at = None
    members = select(PartnerMember.user_id).where(PartnerMember.partner_id == partner.id)
    links.expire_links(members, LinkPurpose.PARTNER_EMAIL)
    _queue_confirmation(partner, user)


def _queue_confirmation(partner: Partner, user: User) -> None:
    with force_locale(user.language):
        mail.queue_mail(
            partner.email,
            _("Bitte bestätigen Sie die E-Mail-Adresse Ihrer Akzeptanzstelle"),
            "partner_confirm_email",
            partner=partner,
            link=confirmation_link(user),
        )


def confirm_email(token: str) -> tuple[Partner, User]:
    """Use a confirmation link: the partner's address is confirmed, its benefits are
    listed if staff approved it. Raises :class:`links.LinkRejected` for a link that is
    unknown, used or expired; the caller rolls back."""
    user = links.consume_link(token, LinkPurpose.PARTNER_EMAIL)
    partner = db.session.scalar(
        select(Partner)
        .join(PartnerMember, PartnerMember.partner_id == Partner.id)
        .where(PartnerMember.user_id == user.id)
    )
    if partner is None:
        # The account left the partner meanwhile: the link names nothing any more.
        raise links.LinkRejected(links.LinkProblem.UNKNOWN)
    if partner.email_confirmed_at is None:
        partner.email_confirmed_at = utcnow()
    if users.email_of(user) == users.normalise_email(partner.email):
        # The registering account signs in with the same address: proven too.
        user.email_confirmed_at = user.email_confirmed_at or utcnow()
    for benefit in partner.benefits:
        sync_benefit(benefit, partner)
    db.session.commit()
    return partner, user
