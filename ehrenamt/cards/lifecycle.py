"""A card's life: created with the approval, revoked, replaced, re-issued, extended."""

from __future__ import annotations

import secrets
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt import labels
from ehrenamt.cardformat import card_numbers
from ehrenamt.cards.index import card_index
from ehrenamt.cards.mails import mail_holder
from ehrenamt.cards.states import CardAction, CardError, next_state
from ehrenamt.cards.validity import default_valid_until, today
from ehrenamt.core import outbox
from ehrenamt.core.access import check_staff
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.errors import Conflict
from ehrenamt.extensions import db
from ehrenamt.models import (
    Application,
    Card,
    CardBatch,
    CardState,
    CardType,
    RevocationReason,
    utcnow,
)

#: The Celery task that produces a card's token and documents.
ISSUE_CARD_TASK = "ehrenamt.issue_card"


def unused_number() -> str:
    """A random card number not yet given (31**11 possibilities; a clash is rare)."""
    while True:
        number = card_numbers.new_card_number()
        if not db.session.scalar(select(exists().where(Card.number == number))):
            return number


def _new_card(
    application: Application,
    acting: Acting,
    *,
    valid_from: date,
    valid_until: date | None,
    replaces: Card | None = None,
    batch: CardBatch | None = None,
    reason: str | None = None,
) -> Card:
    """Add a card in state *issuing* and its issuing task to the current transaction."""
    name = application.full_name
    card = Card(
        public_id=secrets.token_hex(16),
        number=unused_number(),
        application=application,
        office_id=application.office_id,
        holder_id=application.applicant_id,
        replaces=replaces,
        batch_id=batch.id if batch else None,
        state=CardState.ISSUING,
        card_type=application.card_type,
        holder_name=name,
        search_name=name.lower(),
        valid_from=valid_from,
        valid_until=valid_until,
    )
    db.session.add(card)
    db.session.flush()  # the id, for the audit row and the task
    record_change(acting, card, AuditAction.CREATE, None, CardState.ISSUING, reason)
    request_documents(card)
    return card


def create_for_approval(
    application: Application, acting: Acting, *, batch: CardBatch | None = None
) -> Card:
    """The approval's card, in the approval's transaction (caller commits).

    A second card for the same approval is refused by the database
    (``uq_card_one_per_approval``), whatever the code does. ``batch`` links the card to
    the bulk issuing it came from, for that page's progress.
    """
    start = today()
    return _new_card(
        application,
        acting,
        valid_from=start,
        valid_until=default_valid_until(application.office, application.card_type, start),
        batch=batch,
    )


def request_documents(card: Card) -> None:
    """Ask a worker to make the card's current generation."""
    outbox.enqueue(ISSUE_CARD_TASK, card_id=card.id, generation=card.generation)


def _check_version(card: Card, expected_version: int | None) -> None:
    if expected_version is not None and card.version != expected_version:
        raise Conflict(card.public_id)


def commit_card(card: Card) -> None:
    try:
        outbox.commit()
    except StaleDataError:
        outbox.rollback()
        raise Conflict(card.public_id) from None


def revoke(
    card: Card,
    acting: Acting,
    reason: RevocationReason,
    note: str = "",
    *,
    expected_version: int | None = None,
) -> None:
    """Revoke the card for good (it then verifies as revoked); the holder is told."""
    check_staff(acting, card.office_id, card.public_id)
    _check_version(card, expected_version)
    _revoke(card, acting, reason, note)
    commit_card(card)
    card_index().revocations_changed()


def _revoke(card: Card, acting: Acting, reason: RevocationReason, note: str) -> None:
    from_state = card.state
    card.state = next_state(card.state, CardAction.REVOKE)
    card.revoked_at = utcnow()
    card.revocation_reason = reason
    card.revocation_note = note or None
    record_change(
        acting,
        card,
        AuditAction.REVOKE,
        from_state,
        CardState.REVOKED,
        f"{reason.value}: {note}" if note else reason.value,
    )
    with db.session.no_autoflush:
        mail_holder(
            card,
            _l("Ihre Ehrenamtskarte wurde gesperrt"),
            "card_revoked",
            reason_label=labels.REVOCATION_LABELS[reason],
            note=note,
        )


def replace_lost(
    card: Card, acting: Acting, note: str = "", *, expected_version: int | None = None
) -> Card:
    """Revoke a lost card and issue a new one: new number, same validity."""
    check_staff(acting, card.office_id, card.public_id)
    _check_version(card, expected_version)
    next_state(card.state, CardAction.REPLACE)  # refuses what cannot be replaced
    _revoke(card, acting, RevocationReason.LOST, note)
    try:
        replacement = _new_card(
            card.application,
            acting,
            valid_from=card.valid_from,
            valid_until=card.valid_until,
            replaces=card,
            reason=_("Ersatz für Karte %(number)s", number=card.number),
        )
    except (StaleDataError, IntegrityError):
        # Another clerk replaced or changed it first (unique replaces_id, version).
        outbox.rollback()
        raise Conflict(card.public_id) from None
    commit_card(card)
    card_index().revocations_changed()
    return replacement


def reissue(card: Card, acting: Acting, *, expected_version: int | None = None) -> None:
    """Make the documents again (and mail them), e.g. when a print went wrong, or with
    the holder's name as corrected since."""
    check_staff(acting, card.office_id, card.public_id)
    _check_version(card, expected_version)
    to_state = next_state(card.state, CardAction.REISSUE)
    card.generation += 1
    reason = None
    if card.holder_name != card.application.full_name:
        # The name was corrected since the card was printed: the new card shows it.
        reason = f"name {card.holder_name} → {card.application.full_name}"
        card.holder_name = card.application.full_name
        card.search_name = card.holder_name.lower()
    record_change(acting, card, AuditAction.REISSUE, card.state, to_state, reason)
    request_documents(card)
    commit_card(card)


def extend(
    card: Card, acting: Acting, valid_until: date, *, expected_version: int | None = None
) -> None:
    """Move the end of validity later; a new signed card is made and mailed."""
    check_staff(acting, card.office_id, card.public_id)
    _check_version(card, expected_version)
    if card.card_type == CardType.LONG_SERVICE or card.valid_until is None:
        raise CardError(_("Eine unbefristete Karte kann nicht verlängert werden."))
    to_state = next_state(card.state, CardAction.EXTEND)
    if valid_until <= card.valid_until or valid_until < today():
        raise CardError(
            _("Das neue Ende muss nach dem bisherigen und nicht in der Vergangenheit liegen.")
        )
    old, from_state = card.valid_until, card.state
    card.valid_until = valid_until
    card.state = to_state
    card.expiry_reminder_sent_at = None
    card.generation += 1
    record_change(
        acting,
        card,
        AuditAction.EXTEND,
        from_state,
        to_state,
        f"{old.isoformat()} → {valid_until.isoformat()}",
    )
    request_documents(card)
    commit_card(card)
