"""Reading cards: the staff register, the holder's cards, a card's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, select

from ehrenamt.cardformat import card_numbers, legacy_numbers
from ehrenamt.core import audit
from ehrenamt.core.paging import Page, fetch_page
from ehrenamt.extensions import db
from ehrenamt.models import (
    AuditEntry,
    Card,
    CardState,
    CardType,
)


def get_for_office(office_id: int, public_id: str) -> Card | None:
    """A card of the staff member's office, or None."""
    return db.session.scalar(
        select(Card).where(Card.office_id == office_id, Card.public_id == public_id)
    )


def get_for_holder(holder_id: int, public_id: str) -> Card | None:
    """A card of the signed-in holder, or None."""
    return db.session.scalar(
        select(Card).where(Card.holder_id == holder_id, Card.public_id == public_id)
    )


def cards_of(holder_id: int) -> list[Card]:
    """The holder's cards, newest first."""
    return list(
        db.session.scalars(select(Card).where(Card.holder_id == holder_id).order_by(Card.id.desc()))
    )


def card_for_application(application_id: int) -> Card | None:
    """The newest card of an application (the replacement if the first was lost)."""
    return db.session.scalar(
        select(Card).where(Card.application_id == application_id).order_by(Card.id.desc())
    )


@dataclass(frozen=True)
class RegisterFilter:
    """What the card register is narrowed to."""

    #: A card number (any spelling from the card) or a part of the holder's name.
    text: str = ""
    state: CardState | None = None
    card_type: CardType | None = None
    #: Cards whose last day is on or before this date (long-service cards never are).
    expires_by: date | None = None


def list_register(office_id: int, filters: RegisterFilter, page: int, page_size: int) -> Page[Card]:
    """The office's cards, newest first (soonest to end first when filtered by expiry).

    A search text that is a valid card number finds that card exactly; any other text
    is looked for anywhere in the holder's name.
    """
    return fetch_page(register_query(office_id, filters), page, page_size)


def register_query(office_id: int, filters: RegisterFilter) -> Select[Card]:
    """The register's cards in its order (the list and its exports)."""
    query = select(Card).where(Card.office_id == office_id)
    text = filters.text.strip()
    if text:
        try:
            number: str | None = card_numbers.normalise_card_number(text)
        except card_numbers.InvalidCardNumber:
            number = None
        legacy = legacy_numbers.legacy_form(text) if number is None else None
        if number is not None:
            query = query.where(Card.number == number)
        elif legacy is not None:
            # An old paper card's number, or a name: "Meier" could be either.
            query = query.where(
                (Card.legacy_number == legacy)
                | Card.search_name.contains(text.lower(), autoescape=True)
            )
        else:
            query = query.where(Card.search_name.contains(text.lower(), autoescape=True))
    if filters.state is not None:
        query = query.where(Card.state == filters.state)
    if filters.card_type is not None:
        query = query.where(Card.card_type == filters.card_type)
    if filters.expires_by is not None:
        query = query.where(Card.valid_until <= filters.expires_by).order_by(
            Card.valid_until, Card.id
        )
    else:
        query = query.order_by(Card.id.desc())
    return query


def replacement_of(card: Card) -> Card | None:
    """The card issued in place of this lost one, if any."""
    return db.session.scalar(select(Card).where(Card.replaces_id == card.id))


def history(card: Card) -> list[AuditEntry]:
    """The audit rows of the card, oldest first."""
    return audit.history(audit.Subject.CARD, card.id)
