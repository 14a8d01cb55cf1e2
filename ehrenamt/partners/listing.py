"""Partners for staff: the office's list, one partner, their check counts."""

from __future__ import annotations

import enum

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


class NotListedReason(enum.StrEnum):
    """Why the public directory does not show a partner (the staff's list names each)."""

    NOT_DECIDED = "not_decided"
    DECLINED = "declined"
    ADDRESS_UNCONFIRMED = "address_unconfirmed"


def not_listed_reasons(partner: Partner) -> list[NotListedReason]:
    """What keeps the partner out of the directory; empty when :func:`is_listed`."""
    reasons = []
    if partner.state == PartnerState.PENDING:
        reasons.append(NotListedReason.NOT_DECIDED)
    elif partner.state == PartnerState.DECLINED:
        reasons.append(NotListedReason.DECLINED)
    if partner.email_confirmed_at is None:
        reasons.append(NotListedReason.ADDRESS_UNCONFIRMED)
    return reasons


def listed_partners() -> ColumnElement[bool]:
    """:func:`is_listed` as a condition for queries (the directory's pages)."""
    return and_(Partner.state == PartnerState.APPROVED, Partner.email_confirmed_at.is_not(None))


def list_partners(
    office_id: int,
    state: PartnerState | None,
    page: int,
    page_size: int,
    *,
    address_unconfirmed: bool = False,
) -> Page[Partner]:
    """The office's partners, oldest registration first; with ``address_unconfirmed``
    only those whose contact address is not confirmed (not listed for that reason)."""
    query = select(Partner).where(Partner.office_id == office_id)
    if state is not None:
        query = query.where(Partner.state == state)
    if address_unconfirmed:
        query = query.where(Partner.email_confirmed_at.is_(None))
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
