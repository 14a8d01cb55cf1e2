"""Producing a card (the worker): sign the token, make the PDF and PNG, mail the holder."""

from __future__ import annotations

import enum
import logging

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ehrenamt.cardformat import card_numbers, layout
from ehrenamt.cardformat import render as cardformat_render
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cards import keys
from ehrenamt.cards.lifecycle import unused_number
from ehrenamt.cards.mails import mail_holder
from ehrenamt.cards.states import CardAction, next_state
from ehrenamt.core import outbox
from ehrenamt.core.audit import Acting, AuditAction, record_change
from ehrenamt.core.urls import external_url
from ehrenamt.extensions import db
from ehrenamt.models import (
    Card,
    CardDocument,
    CardState,
    DocumentKind,
    Office,
    utcnow,
)

log = logging.getLogger(__name__)

MEDIA_TYPES = {DocumentKind.PDF: "application/pdf", DocumentKind.PNG: "image/png"}


class Produced(enum.StrEnum):
    """What :func:`produce` did."""

    MADE = "made"
    #: This generation was made already (a second delivery of the task).
    ALREADY = "already"
    #: Another worker holds the card right now; retry later.
    BUSY = "busy"
    #: Revoked or expired meanwhile, or deleted: nothing to make.
    SKIPPED = "skipped"


def produce(card_id: int, message_id: int | None = None) -> Produced:
    """Sign the card and make its PDF and PNG, once per generation; mail the holder.

    On PostgreSQL the card row is locked while the documents are made (``SKIP LOCKED``:
    a second delivery running at the same time returns BUSY instead of waiting); the
    lock goes with the worker's connection if the worker dies. The version column makes
    a second writer fail on any database, so only one result is ever committed. The
    outbox message ``message_id`` that asked for it is completed in the same transaction.
    """
    session = db.session
    query = (
        select(Card)
        .where(Card.id == card_id)
        .options(
            # What the documents and the mail need, in the one locking query.
            joinedload(Card.office, innerjoin=True).joinedload(Office.programme, innerjoin=True),
            joinedload(Card.holder, innerjoin=True),
            selectinload(Card.documents),
        )
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Card)
    card = session.scalar(query)
    if card is None:
        gone = not session.scalar(select(exists().where(Card.id == card_id)))
        session.rollback()
        return Produced.SKIPPED if gone else Produced.BUSY
    if card.state in (CardState.REVOKED, CardState.EXPIRED):
        session.rollback()
        return Produced.SKIPPED
    if card.rendered_generation >= card.generation:
        session.rollback()
        return Produced.ALREADY
    try:
        _make_documents(card)
        if message_id is not None:
            outbox.complete(message_id)
        outbox.commit()
    except (StaleDataError, IntegrityError):
        # Another worker stored this generation first (version column, or the unique
        # documents of the card on SQLite, where the rows are not locked).
        outbox.rollback()
        log.info("card %s was produced by another worker meanwhile", card_id)
        return Produced.ALREADY
    return Produced.MADE


def _make_documents(card: Card) -> None:
    key = keys.load_key_ring().signing_key()
    assert key.private_key is not None  # signing_key() guarantees it
    renumbered = _retire_legacy_number(card)
    issued_at = utcnow().replace(microsecond=0)
    claims = cardformat_token.CardClaims(
        card_number=card.number,
        name=card.holder_name,
        card_type=card.card_type,
        valid_until=card.valid_until,
        office=card.office.slug,
        issued_at=issued_at,
    )
    token = cardformat_token.sign_card(claims, key.private_key)
    rendered = cardformat_render.render_card(face_of(card, token))
    for kind, content in ((DocumentKind.PDF, rendered.pdf), (DocumentKind.PNG, rendered.png)):
        document = card.document(kind)
        if document is None:
            card.documents.append(
                CardDocument(kind=kind, content=content, generation=card.generation)
            )
        else:
            document.content = content
            document.generation = card.generation
            document.created_at = issued_at
    action = CardAction.ISSUE if card.state == CardState.ISSUING else CardAction.RENDER
    from_state = card.state
    card.token = token
    card.key_id = key.kid
    card.issued_at = issued_at
    card.rendered_generation = card.generation
    card.state = next_state(from_state, action)
    record_change(
        Acting.system(),
        card,
        AuditAction(action.value),
        from_state,
        card.state,
        f"generation {card.generation}, key {key.kid}{renumbered}",
    )
    db.session.flush()  # the documents' ids, for the mail's attachments
    _mail_holder_card(card)


def _retire_legacy_number(card: Card) -> str:
    """An imported card made here for the first time gets a new number: the QR code signs
    only numbers of ours (with their check character). The old number stays in
    ``legacy_number``, and a check of it then answers "revoked" (the old card is
    replaced). Returns the note for the audit row."""
    if card_numbers.is_valid(card.number):
        return ""
    old = card.number
    card.number = unused_number()
    return f", number {old} → {card.number}"


def face_of(card: Card, token: bytes) -> layout.CardFace:
    """What the card shows, for the renderer."""
    return layout.CardFace(
        holder_name=card.holder_name,
        card_number=card.number,
        card_type=card.card_type,
        valid_from=card.valid_from,
        valid_until=card.valid_until,
        office_name=card.office.name,
        programme_name=card.office.programme.name,
        url=card_url(token),
        office_logo=card.office.logo_png,
        return_address=tuple(card.office.postal_address.splitlines()),
    )


def document_filename(card: Card, kind: DocumentKind) -> str:
    """File name for a download or an attachment."""
    return f"ehrenamtskarte-{card.number}.{kind.value}"


def _mail_holder_card(card: Card) -> None:
    attachments = [
        {
            "document_id": document.id,
            "filename": document_filename(card, document.kind),
            "content_type": MEDIA_TYPES[document.kind],
        }
        for document in card.documents
    ]
    mail_holder(
        card,
        _l("Ihre Ehrenamtskarte ist da"),
        "card_ready",
        account_link=external_url("account.index"),
        attachments=attachments,
    )


def document_for_download(card: Card, kind: DocumentKind) -> CardDocument | None:
    """The document to download; None while the card is being made or once revoked."""
    if card.state not in (CardState.ACTIVE, CardState.EXPIRED):
        return None
    return card.document(kind)


def card_url(token: bytes) -> str:
    """The URL of a card's QR code at this deployment (``BASE_URL``)."""
    return cardformat_token.card_url(token, current_app.config["BASE_URL"])
