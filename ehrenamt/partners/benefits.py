"""A partner's benefits: added, changed, deleted, unpublished by staff."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.text import searchable_text
from ehrenamt.extensions import db
from ehrenamt.models import (
    Benefit,
    Partner,
    utcnow,
)
from ehrenamt.partners.listing import is_listed


def new_public_id() -> str:
    """A random id for URLs of partners and benefits."""
    return secrets.token_urlsafe(16)


@dataclass
class BenefitInput:
    """One benefit as the partner describes it."""

    title: str
    description: str | None = None
    conditions: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None


def sync_benefit(benefit: Benefit, partner: Partner) -> None:
    """Copy what the directory filters on from the partner, and derive ``published``."""
    benefit.category_id = partner.category_id
    benefit.postcode = partner.postcode
    benefit.published = is_listed(partner) and not benefit.unpublished_by_staff
    benefit.search_text = searchable_text(
        benefit.title, benefit.description, benefit.conditions, partner.name, partner.town
    )
    benefit.place_text = " " + searchable_text(partner.town)


def apply_benefit(benefit: Benefit, data: BenefitInput) -> None:
    benefit.title = data.title.strip()
    benefit.description = (data.description or "").strip() or None
    benefit.conditions = (data.conditions or "").strip() or None
    benefit.valid_from = data.valid_from
    benefit.valid_until = data.valid_until
    benefit.updated_at = utcnow()


def add_benefit(partner: Partner, data: BenefitInput) -> Benefit:
    """A new benefit, in the directory at once if the partner is approved."""
    benefit = Benefit(public_id=new_public_id())
    apply_benefit(benefit, data)
    partner.benefits.append(benefit)
    sync_benefit(benefit, partner)
    db.session.commit()
    return benefit


def update_benefit(benefit: Benefit, data: BenefitInput) -> None:
    """Changes to a benefit go live at once."""
    apply_benefit(benefit, data)
    sync_benefit(benefit, benefit.partner)
    db.session.commit()


def delete_benefit(benefit: Benefit) -> None:
    """The partner withdraws a benefit."""
    db.session.delete(benefit)
    db.session.commit()


def set_benefit_unpublished(
    benefit: Benefit, acting: Acting, *, unpublished: bool, note: str
) -> None:
    """Staff take a benefit off the directory (or put it back), with an audited note."""
    partner = benefit.partner
    check_staff(acting, partner.office_id, benefit.public_id)
    benefit.unpublished_by_staff = unpublished
    benefit.unpublish_note = note.strip() or None
    sync_benefit(benefit, partner)
    record_change(
        acting,
        partner,
        AuditAction.UNPUBLISH_BENEFIT if unpublished else AuditAction.REPUBLISH_BENEFIT,
        reason=f"{benefit.title}: {note.strip()}" if note.strip() else benefit.title,
    )
    db.session.commit()


def benefit_of(partner: Partner, public_id: str) -> Benefit | None:
    """One of the partner's own benefits; None for another partner's (the view: 404)."""
    return db.session.scalar(
        select(Benefit).where(Benefit.public_id == public_id, Benefit.partner_id == partner.id)
    )


def benefit_for_office(office_id: int, public_id: str) -> Benefit | None:
    """A benefit of one of the office's partners; None for another office's."""
    return db.session.scalar(
        select(Benefit)
        .join(Partner)
        .where(Benefit.public_id == public_id, Partner.office_id == office_id)
    )


def benefit_of_partner(partner_id: int, public_id: str) -> Benefit | None:
    """One of the partner's own benefits by its public id, or None."""
    return db.session.scalar(
        select(Benefit).where(Benefit.partner_id == partner_id, Benefit.public_id == public_id)
    )
