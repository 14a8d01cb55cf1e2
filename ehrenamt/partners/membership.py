"""Partner accounts: members of a partner, invitations, and a user's partner."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ehrenamt.accounts import links, users
from ehrenamt.core import mail, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import NotPermitted
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    LinkPurpose,
    Partner,
    PartnerMember,
    PartnerState,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.partners.registration import (
    AccountExists,
    member_language,
)

#: How long a colleague's invitation link works.
INVITATION_MAX_AGE_DAYS = 7


def invite_member(partner: Partner, inviter: User, email: str, language: str = "de") -> User:
    """A colleague gets a partner account and an e-mailed link to sign in and set a password."""
    if users.find_user(email) is not None:
        raise AccountExists(email)
    user = users.create_user(email, UserRole.PARTNER, language=language)
    db.session.flush()
    db.session.add(PartnerMember(user_id=user.id, partner_id=partner.id, invited_by_id=inviter.id))
    max_age = timedelta(days=INVITATION_MAX_AGE_DAYS)
    token = links.issue_link(user, LinkPurpose.SIGN_IN, max_age)
    with force_locale(language):
        mail.queue_mail(
            users.email_of(user),
            _("Einladung in den Bereich für Akzeptanzstellen"),
            "partner_invitation",
            partner=partner,
            inviter=inviter,
            link=external_url("partners.accept_invitation", token=token),
        )
    outbox.commit()
    return user


def invite_account_for_partner(partner: Partner, acting: Acting, email: str) -> User:
    """Staff of the partner's office invite an account for it (audited), e.g. for a
    partner imported from CSV, which has none, or whose only account left.

    Only an approved partner gets accounts; raises :class:`NotPermitted` for staff of
    another office or a partner not approved, :class:`AccountExists` for a known address.
    """
    staff = check_staff(acting, partner.office_id, partner.public_id)
    if partner.state != PartnerState.APPROVED:
        raise NotPermitted(partner.public_id)
    record_change(acting, partner, AuditAction.INVITE, reason=email.strip().lower())
    return invite_member(partner, staff, email, member_language(partner))


def accept_invitation(token: str) -> User:
    """Use an invitation link once; raises :class:`links.LinkRejected` otherwise."""
    user = links.consume_link(token, LinkPurpose.SIGN_IN)
    if user.role != UserRole.PARTNER:
        outbox.rollback()
        raise links.LinkRejected(links.LinkProblem.UNKNOWN)
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    db.session.commit()
    return user


def members_of(partner: Partner) -> list[User]:
    """The partner's accounts, oldest first."""
    return list(
        db.session.scalars(
            select(User)
            .join(PartnerMember, PartnerMember.user_id == User.id)
            .where(PartnerMember.partner_id == partner.id)
            .order_by(PartnerMember.id)
        )
    )


def partner_of(user: User) -> Partner | None:
    """The partner ``user`` works for; None for other roles or an account without one."""
    if user.role != UserRole.PARTNER:
        return None
    return db.session.scalar(
        select(Partner).join(PartnerMember).where(PartnerMember.user_id == user.id)
    )
