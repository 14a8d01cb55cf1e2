"""Checking a card online, for partners, till systems and the public, and recording it.

:func:`ehrenamt.services.cards.check` decides (signature, validity, revocation); this
module adds who asked and keeps a record of each check for a short period
(``VERIFICATION_RETENTION_DAYS``), deleted by a periodic job. A verifier learns only what
the card itself shows.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select

from ehrenamt.extensions import db
from ehrenamt.models import (
    ApiKey,
    Benefit,
    Card,
    Partner,
    Verification,
    VerificationChannel,
    utcnow,
)
from ehrenamt.services import cards
from ehrenamt.services.cards import CardCheck

log = logging.getLogger(__name__)


def verify(
    code: str,
    *,
    channel: VerificationChannel,
    partner: Partner | None = None,
    api_key: ApiKey | None = None,
    benefit: Benefit | None = None,
) -> CardCheck:
    """Check ``code`` (QR content or typed card number), record the check, commit."""
    result = cards.check(code)
    card_id = None
    if result.card_number is not None:
        card_id = db.session.scalar(select(Card.id).where(Card.number == result.card_number))
    if benefit is not None and (partner is None or benefit.partner_id != partner.id):
        benefit = None  # a partner records only its own benefits
    db.session.add(
        Verification(
            partner_id=partner.id if partner else None,
            api_key_id=api_key.id if api_key else None,
            channel=channel,
            result=result.status.value,
            card_id=card_id,
            benefit_id=benefit.id if benefit else None,
        )
    )
    db.session.commit()
    return result


def delete_expired_records() -> int:
    """Periodic: delete checks older than the retention period; log the count only."""
    retention = timedelta(days=int(current_app.config["VERIFICATION_RETENTION_DAYS"]))
    result = db.session.execute(delete(Verification).where(Verification.at < utcnow() - retention))
    db.session.commit()
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.info("deleted %d verification records past their retention period", count)
    return count
