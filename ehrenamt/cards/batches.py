"""Bulk issuing: cards for many approved applications at once, and their progress."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from ehrenamt.cards.lifecycle import create_for_approval
from ehrenamt.cards.register import card_for_application
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardBatch,
    CardState,
)
from ehrenamt.workflow import ApplicationState


def approved_without_card(office_id: int | None, limit: int) -> list[Application]:
    """Approved applications (of one office, or of all) that have no card yet, oldest first."""
    query = select(Application).where(
        Application.state == ApplicationState.APPROVED,
        ~exists().where(Card.application_id == Application.id),
    )
    if office_id is not None:
        query = query.where(Application.office_id == office_id)
    return list(
        db.session.scalars(query.order_by(Application.decided_at, Application.id).limit(limit))
    )


def create_batch(office_id: int, acting: Acting, size: int) -> CardBatch:
    """Start a bulk issuing of ``size`` selected applications (committed at once)."""
    batch = CardBatch(
        public_id=secrets.token_hex(16),
        office_id=office_id,
        created_by_id=acting.user.id if acting.user else None,
        size=size,
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def issue_for_approved(
    application: Application,
    acting: Acting,
    expected_version: int,
    *,
    batch: CardBatch | None = None,
) -> Card:
    """The card of an approved application that has none yet (e.g. after a failure).

    Raises :class:`Conflict` if the application changed since the clerk saw it or got
    its card meanwhile, :class:`NotPermitted` for staff of another office.
    """
    check_staff(acting, application.office_id, application.public_id)
    if (
        application.version != expected_version
        or application.state != ApplicationState.APPROVED
        or card_for_application(application.id) is not None
    ):
        raise Conflict(application.public_id)
    try:
        card = create_for_approval(application, acting, batch=batch)
        outbox.commit()
    except IntegrityError:
        # Another clerk, or the periodic job, created it in the same moment.
        outbox.rollback()
        raise Conflict(application.public_id) from None
    return card


def get_batch_for_office(office_id: int, public_id: str) -> CardBatch | None:
    """A bulk issuing of the staff member's office, or None."""
    return db.session.scalar(
        select(CardBatch).where(CardBatch.office_id == office_id, CardBatch.public_id == public_id)
    )


@dataclass(frozen=True)
class BatchProgress:
    """How far the workers are with a bulk issuing."""

    #: Cards the batch created (one per application approved or given its card).
    total: int
    #: Cards made: no longer being produced (active, or revoked/expired since).
    issued: int
    #: Cards a worker has yet to make.
    issuing: int
    active: int
    #: Selected applications that got no card (changed meanwhile, or not approvable).
    failed: int

    @property
    def complete(self) -> bool:
        return self.issuing == 0


def batch_progress(batch: CardBatch) -> BatchProgress:
    """Count the batch's cards by state, in the database."""
    counts = dict(
        db.session.execute(
            select(Card.state, func.count()).where(Card.batch_id == batch.id).group_by(Card.state)
        ).all()
    )
    total = sum(counts.values())
    issuing = counts.get(CardState.ISSUING, 0)
    return BatchProgress(
        total=total,
        issued=total - issuing,
        issuing=issuing,
        active=counts.get(CardState.ACTIVE, 0),
        failed=max(batch.size - total, 0),
    )


def batch_cards(batch: CardBatch) -> list[Card]:
    """The batch's cards in the order they were created (a batch is small, see the view)."""
    return list(db.session.scalars(select(Card).where(Card.batch_id == batch.id).order_by(Card.id)))
