"""Partners for staff: the office's list, one partner, their check counts."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, select

from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import (
    Partner,
    PartnerState,
    Verification,
)


def is_listed(partner: Partner) -> bool:
    """Whether the public directory shows the partner's benefits: staff approved it and
    it confirmed its e-mail address (either may come first)."""
    return partner.state == PartnerState.APPROVED and partner.email_confirmed_at is not None


def listed_partners() -> ColumnElement[bool]:
    """:func:`is_listed` as a condition for queries (the directory's pages)."""
    return and_(Partner.state == PartnerState.APPROVED, Partner.email_confirmed_at.is_not(None))


def list_partners(
    office_id: int, state: PartnerState | None, page: int, page_size: int
) -> Page[Partner]:
    """The office's partners, oldest registration first."""
    query = select(Partner).where(Partner.office_id == office_id)
    if state is not None:
        query = query.where(Partner.state == state)
    return fetch_page(query.order_by(Partner.created_at, Partner.id), page, page_size)


def get_for_office(office_id: int, public_id: str) -> Partner | None:
    """A partner of this office; None for another office's (the view answers 404)."""
    return db.session.scalar(
        select(Partner).where(Partner.public_id == public_id, Partner.office_id == office_id)
    )


def verification_counts(partner_ids: list[int]) -> dict[int, int]:
    """How many card checks each partner made (within the retention period)."""
    if not partner_ids:
        return {}
    rows = db.session.execute(
        select(Verification.partner_id, func.count())
        .where(Verification.partner_id.in_(partner_ids))
        .group_by(Verification.partner_id)
    )
    return {partner_id: count for partner_id, count in rows if partner_id is not None}
