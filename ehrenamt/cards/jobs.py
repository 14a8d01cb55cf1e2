"""Periodic jobs of the cards: expire, remind holders, pick up what was left behind."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ehrenamt.cards.batches import approved_without_card
from ehrenamt.cards.lifecycle import create_for_approval, request_documents
from ehrenamt.cards.mails import mail_holder
from ehrenamt.cards.states import CardAction, next_state
from ehrenamt.cards.validity import today
from ehrenamt.core import outbox
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    Card,
    CardState,
    utcnow,
)

log = logging.getLogger(__name__)


def expire_cards(limit: int = 1000) -> int:
    """Active cards past their last day become expired (audited); returns how many."""
    query = (
        select(Card)
        .where(Card.state == CardState.ACTIVE, Card.valid_until < today())
        .order_by(Card.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    cards = list(db.session.scalars(query))
    for card in cards:
        card.state = next_state(CardState.ACTIVE, CardAction.EXPIRE)
        record_change(Acting.system(), card, AuditAction.EXPIRE, CardState.ACTIVE, card.state)
    db.session.commit()
    if cards:
        log.info("expired %d cards", len(cards))
    return len(cards)


def remind_expiring(limit: int = 500) -> int:
    """Mail holders whose card ends within CARD_EXPIRY_REMINDER_DAYS, once per validity."""
    days = int(current_app.config["CARD_EXPIRY_REMINDER_DAYS"])
    query = (
        select(Card)
        .where(
            Card.state == CardState.ACTIVE,
            Card.valid_until.is_not(None),
            Card.valid_until <= today() + timedelta(days=days),
            Card.expiry_reminder_sent_at.is_(None),
        )
        .order_by(Card.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    cards = list(db.session.scalars(query))
    for card in cards:
        card.expiry_reminder_sent_at = utcnow()
        mail_holder(
            card,
            _l("Ihre Ehrenamtskarte läuft bald ab"),
            "card_expiring",
            renewal_link=external_url("apply.form", erneuern=card.public_id),
        )
    outbox.commit()
    return len(cards)


def issue_pending(limit: int = 500) -> int:
    """Re-request what the outbox gave up on; create cards for approvals that lack one.

    Idempotent: a card made twice is made once (generations), and an approval gets its
    card from the unique index, whatever runs at the same time.
    """
    stale_before = utcnow() - current_app.config["OUTBOX_REDISPATCH_AFTER"]
    behind = list(
        db.session.scalars(
            select(Card)
            .where(
                Card.state.in_((CardState.ISSUING, CardState.ACTIVE)),
                Card.rendered_generation < Card.generation,
                func.coalesce(Card.issued_at, Card.created_at) < stale_before,
            )
            .order_by(Card.id)
            .limit(limit)
        )
    )
    for card in behind:
        request_documents(card)
    outbox.commit()
    created = 0
    for application in approved_without_card(None, limit):
        try:
            create_for_approval(application, Acting.system())
            outbox.commit()
        except IntegrityError:
            outbox.rollback()  # another run created it meanwhile
        else:
            created += 1
    return len(behind) + created
