"""The programme's offices side by side: one row of today's figures per office.

Four grouped queries for the whole page (not four per office), each narrowed to the
offices of the page shown; they read the same indexes as the statistics page.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, func, select

from ehrenamt.extensions import db
from ehrenamt.models import Application, Card, CardState, Partner, Verification
from ehrenamt.workflow import OPEN_STATES


@dataclass(frozen=True)
class OfficeFigures:
    """One office's row on the programme overview."""

    open_applications: int = 0
    active_cards: int = 0
    #: Open applications submitted more than the configured waiting days ago.
    waiting_longer: int = 0
    #: Checks by the office's partners since the first of this month (UTC).
    checks_this_month: int = 0


def office_figures(
    office_ids: Collection[int], today: date, now: datetime, waiting_days: int
) -> dict[int, OfficeFigures]:
    """Each office's figures as of ``now``; every id given has a row (zeros included)."""
    ids = list(office_ids)
    if not ids:
        return {}
    open_apps = Application.state.in_(list(OPEN_STATES))
    waiting_since = now - timedelta(days=waiting_days)
    open_counts = _counts(
        select(Application.office_id, func.count())
        .where(Application.office_id.in_(ids), open_apps)
        .group_by(Application.office_id)
    )
    waiting = _counts(
        select(Application.office_id, func.count())
        .where(Application.office_id.in_(ids), open_apps, Application.submitted_at < waiting_since)
        .group_by(Application.office_id)
    )
    cards = _counts(
        select(Card.office_id, func.count())
        .where(Card.office_id.in_(ids), Card.state == CardState.ACTIVE)
        .group_by(Card.office_id)
    )
    month_start = datetime(today.year, today.month, 1, tzinfo=UTC)
    checks = _counts(
        select(Partner.office_id, func.count())
        .select_from(Verification)
        .join(Partner, Partner.id == Verification.partner_id)
        .where(Partner.office_id.in_(ids), Verification.at >= month_start)
        .group_by(Partner.office_id)
    )
    return {
        office_id: OfficeFigures(
            open_applications=open_counts.get(office_id, 0),
            active_cards=cards.get(office_id, 0),
            waiting_longer=waiting.get(office_id, 0),
            checks_this_month=checks.get(office_id, 0),
        )
        for office_id in ids
    }


def _counts(query: Select[int, int]) -> dict[int, int]:
    return {int(key): int(count) for key, count in db.session.execute(query)}
