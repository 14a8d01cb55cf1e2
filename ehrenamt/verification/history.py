"""A partner's history of checks, and counts of checks per result and partner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ehrenamt.core.paging import Page, fetch_page, page_number
from ehrenamt.extensions import db
from ehrenamt.models import (
    Partner,
    Verification,
)
from ehrenamt.verification.results import CheckStatus


def verification_history(partner_id: int, page: int | None, page_size: int) -> Page[Verification]:
    """The partner's own checks, newest first, paged in the database (pages from 1)."""
    query = (
        select(Verification)
        .where(Verification.partner_id == partner_id)
        .options(selectinload(Verification.card), selectinload(Verification.benefit))
        .order_by(Verification.at.desc(), Verification.id.desc())
    )
    return fetch_page(query, page_number(page), page_size)


def counts_by_result(partner_id: int, since: datetime | None = None) -> dict[str, int]:
    """How many checks the partner made per result (every result present, zero if none)."""
    query = (
        select(Verification.result, func.count())
        .where(Verification.partner_id == partner_id)
        .group_by(Verification.result)
    )
    if since is not None:
        query = query.where(Verification.at >= since)
    counts = {status.value: 0 for status in CheckStatus}
    for result, count in db.session.execute(query):
        counts[result] = int(count)
    return counts


def counts_per_partner(office_id: int, since: datetime | None = None) -> dict[int, dict[str, int]]:
    """For staff: checks per partner of the office and per result, ``{partner_id: counts}``."""
    query = (
        select(Verification.partner_id, Verification.result, func.count())
        .join(Partner, Partner.id == Verification.partner_id)
        .where(Partner.office_id == office_id)
        .group_by(Verification.partner_id, Verification.result)
    )
    if since is not None:
        query = query.where(Verification.at >= since)
    counts: dict[int, dict[str, int]] = {}
    for partner_id, result, count in db.session.execute(query):
        assert partner_id is not None  # joined to a partner
        row = counts.setdefault(partner_id, {s.value: 0 for s in CheckStatus})
        row[result] = int(count)
    return counts
