"""Partners register, staff approve or decline them, partners keep their profile."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ehrenamt.accounts import users
from ehrenamt.core import mail, outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import Conflict, DomainError
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Office,
    Partner,
    PartnerMember,
    PartnerState,
    User,
    UserRole,
    utcnow,
)
from ehrenamt.partners import email_confirmation, geocoding
from ehrenamt.partners.benefits import BenefitInput, apply_benefit, new_public_id, sync_benefit
from ehrenamt.partners.states import PartnerAction, next_state


class PartnerError(DomainError):
    """A partner operation that cannot be done."""


class AccountExists(PartnerError):
    """The e-mail address belongs to an account already."""


@dataclass
class PartnerInput:
    """A partner's profile as a form or a CSV line gives it."""

    name: str
    category_id: int
    street: str
    postcode: str
    town: str
    email: str
    website: str | None = None
    phone: str | None = None
    description: str | None = None
    #: Only staff's CSV import gives coordinates; otherwise the postcode places the partner.
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _apply_profile(partner: Partner, data: PartnerInput) -> None:
    address = (data.street.strip(), data.postcode.strip(), data.town.strip())
    moved = (partner.street, partner.postcode, partner.town) != address
    partner.name = data.name.strip()
    partner.category_id = data.category_id
    partner.street = data.street.strip()
    partner.postcode = data.postcode.strip()
    partner.town = data.town.strip()
    partner.email = users.normalise_email(data.email)
    partner.website = (data.website or "").strip() or None
    partner.phone = (data.phone or "").strip() or None
    partner.description = (data.description or "").strip() or None
    if data.latitude is not None and data.longitude is not None:
        # Staff's CSV may bring the exact place of the door.
        partner.latitude, partner.longitude = data.latitude, data.longitude
    elif moved or partner.latitude is None:
        # Partners type no coordinates: the address places them (the postcode's centre
        # is near enough for "how far"); imported ones are kept while the address stays.
        geocoding.place_partner(partner)


def new_partner(office: Office, data: PartnerInput, benefits: list[BenefitInput]) -> Partner:
    partner = Partner(public_id=new_public_id(), office_id=office.id, state=PartnerState.PENDING)
    _apply_profile(partner, data)
    db.session.add(partner)
    for item in benefits:
        benefit = Benefit(public_id=new_public_id())
        apply_benefit(benefit, item)
        partner.benefits.append(benefit)
        sync_benefit(benefit, partner)
    return partner


def register_partner(
    office: Office,
    data: PartnerInput,
    benefits: list[BenefitInput],
    *,
    password: str,
    contact_name: str = "",
    language: str = "de",
) -> Partner:
    """A business registers itself: a pending partner, its first account and benefits.

    The account signs in with the partner's e-mail address; the partner area opens once
    staff of ``office`` approve the registration.
    """
    if users.find_user(data.email) is not None:
        raise AccountExists(data.email)
    partner = new_partner(office, data, benefits)
    user = users.create_user(
        data.email,
        UserRole.PARTNER,
        password=password,
        display_name=contact_name.strip() or data.name.strip(),
        language=language,
    )
    db.session.flush()
    db.session.add(PartnerMember(user_id=user.id, partner_id=partner.id))
    with force_locale(language):
        mail.queue_mail(
            partner.email,
            _("Ihre Registrierung als Akzeptanzstelle"),
            "partner_registered",
            partner=partner,
            office=office,
            # Listed only once the address is proven (email_confirmation).
            link=email_confirmation.confirmation_link(user),
        )
    try:
        outbox.commit()
    except IntegrityError as error:
        # Someone registered the same address a moment ago (the unique e-mail index).
        raise AccountExists(data.email) from error
    return partner


def create_approved_partner(
    office: Office, data: PartnerInput, benefits: list[BenefitInput], account: User
) -> Partner:
    """An approved partner with ``account`` as its member (demo data, no mail)."""
    partner = new_partner(office, data, benefits)
    partner.state = PartnerState.APPROVED
    partner.decided_at = partner.email_confirmed_at = utcnow()
    for benefit in partner.benefits:
        sync_benefit(benefit, partner)
    db.session.flush()
    db.session.add(PartnerMember(user_id=account.id, partner_id=partner.id))
    record_change(Acting.system(), partner, AuditAction.CREATE, to_state=PartnerState.APPROVED)
    db.session.commit()
    return partner


def _decide(partner: Partner, acting: Acting, action: PartnerAction, reason: str | None) -> None:
    check_staff(acting, partner.office_id, partner.public_id)
    from_state = partner.state
    target = next_state(from_state, action, partner.public_id)
    # A conditional UPDATE: of two staff deciding at once only one wins.
    changed = db.session.execute(
        update(Partner)
        .where(Partner.id == partner.id, Partner.state == from_state)
        .values(state=target, decided_at=utcnow(), decline_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        outbox.rollback()
        raise Conflict(partner.public_id)
    db.session.refresh(partner)
    for benefit in partner.benefits:
        sync_benefit(benefit, partner)
    record_change(acting, partner, AuditAction(action.value), from_state, target, reason)


def member_language(partner: Partner) -> str:
    """The language of the partner's first account, for mails to the partner."""
    language = db.session.scalar(
        select(User.language)
        .join(PartnerMember, PartnerMember.user_id == User.id)
        .where(PartnerMember.partner_id == partner.id)
        .order_by(PartnerMember.id)
        .limit(1)
    )
    return language or "de"


def _mail_partner(partner: Partner, subject: LazyString, template: str, **context: Any) -> None:
    """Queue ``template`` to the partner's address, in its first account's language."""
    with force_locale(member_language(partner)):
        mail.queue_mail(partner.email, str(subject), template, partner=partner, **context)


def approve_partner(partner: Partner, acting: Acting) -> None:
    """Staff of the partner's office approve it; its benefits go into the directory."""
    _decide(partner, acting, PartnerAction.APPROVE, None)
    _mail_partner(
        partner,
        _l("Ihre Registrierung als Akzeptanzstelle ist bestätigt"),
        "partner_approved",
        link=external_url("auth.login"),
        # The mail explains the three ways to check a card, with these two pages.
        check_link=external_url("verify.scan"),
        keys_link=external_url("api_keys.index"),
    )
    outbox.commit()


def decline_partner(partner: Partner, acting: Acting, reason: str) -> None:
    """Staff decline the registration; the reason is sent to the partner."""
    if not reason.strip():
        raise ValueError("a reason is required")
    _decide(partner, acting, PartnerAction.DECLINE, reason.strip())
    _mail_partner(
        partner,
        _l("Ihre Registrierung als Akzeptanzstelle wurde abgelehnt"),
        "partner_declined",
        reason=reason.strip(),
    )
    outbox.commit()


def update_profile(partner: Partner, data: PartnerInput, user: User) -> bool:
    """``user`` edits the partner's profile; its benefits follow at once. A new contact
    address must be confirmed by link before the directory lists the partner again.
    Returns whether the address changed (a link is on its way)."""
    new_address = users.normalise_email(data.email) != partner.email
    _apply_profile(partner, data)
    if new_address:
        email_confirmation.address_changed(partner, user)
    for benefit in partner.benefits:
        sync_benefit(benefit, partner)
    outbox.commit()
    return new_address
