"""Checking a card: the answer for a QR code or a typed number, and its record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select

from ehrenamt.cardformat import card_numbers, legacy_numbers
from ehrenamt.cardformat import token as cardformat_token
from ehrenamt.cards import keys
from ehrenamt.cards.index import card_index
from ehrenamt.extensions import read_one
from ehrenamt.models import (
    Benefit,
    Card,
    CardState,
    VerificationChannel,
    utcnow,
)
from ehrenamt.verification import limits
from ehrenamt.verification.records import record_writer
from ehrenamt.verification.results import CardCheck, CheckStatus


def check(code: str, *, now: datetime | None = None) -> CardCheck:
    """Check a scanned QR content (URL or digits) or a typed card number online.

    The signature decides whether a QR code is genuine and until when it is valid; the
    database adds whether the card is ours and revoked (through the process's
    :mod:`~ehrenamt.cards.index`). A typed number is looked up in the database.
    """
    text = code.strip()
    if card_numbers.looks_typed(text):
        try:
            number = card_numbers.normalise_card_number(text)
        except card_numbers.InvalidCardNumber:
            # The number printed on an imported paper card is no new-style number (the
            # import refuses any that would pass as one): look it up before calling the
            # text a typo. Otherwise InvalidCardNumber carries the message for the
            # person who typed it: a typo, not a forged card.
            legacy = legacy_numbers.legacy_form(text)
            row = _card_by_legacy_number(legacy) if legacy is not None else None
            if row is None or legacy is None:
                raise
            return _answer(row, now, legacy)
        return _check_number(number, now)
    try:
        token = cardformat_token.parse_card_url(text)
        verified = keys.verify_with_published_keys(token, now or datetime.now(UTC))
        claims, status = verified.claims, CheckStatus.VALID
    except cardformat_token.Expired as expired:
        claims, status = expired.card.claims, CheckStatus.EXPIRED
    except cardformat_token.InvalidToken:
        legacy = legacy_numbers.legacy_form(text)
        row = _card_by_legacy_number(legacy) if legacy is not None else None
        if row is None or legacy is None:
            return CardCheck(CheckStatus.INVALID)
        return _answer(row, now, legacy)
    index = card_index()
    card_id = index.card_id(claims.card_number)
    if index.is_revoked(claims.card_number):
        # Also a deleted card (no id) whose number is kept until its end: still refused.
        status = CheckStatus.REVOKED
    elif card_id is None:
        return CardCheck(CheckStatus.UNKNOWN)
    return CardCheck(
        status,
        card_number=claims.card_number,
        holder_name=claims.name,
        card_type=claims.card_type,
        valid_until=claims.valid_until,
        card_id=card_id,
    )


#: What a check needs of a card, by its number; built once (a till checks many cards a
#: second, and building and caching the statement each time costs more than running it).
_CARD_BY_NUMBER = select(
    Card.id, Card.state, Card.number, Card.holder_name, Card.card_type, Card.valid_until
).where(Card.number == bindparam("number"))


def _card_by_number(number: str) -> Any:
    """The row of :data:`_CARD_BY_NUMBER` for ``number``, or None."""
    return read_one(_CARD_BY_NUMBER, {"number": number})


#: An imported card by the number printed on the old paper card.
_CARD_BY_LEGACY_NUMBER = select(
    Card.id, Card.state, Card.number, Card.holder_name, Card.card_type, Card.valid_until
).where(Card.legacy_number == bindparam("number"))


def _card_by_legacy_number(number: str) -> Any:
    """The row of :data:`_CARD_BY_LEGACY_NUMBER` for ``number``, or None."""
    return read_one(_CARD_BY_LEGACY_NUMBER, {"number": number})


def _check_number(number: str, now: datetime | None) -> CardCheck:
    card = _card_by_number(number)
    if card is None and card_index().is_revoked(number):
        # A deleted card whose number is kept until its end: nothing else is known.
        return CardCheck(CheckStatus.REVOKED, card_number=number)
    if card is None or card.state == CardState.ISSUING:
        return CardCheck(CheckStatus.UNKNOWN)
    return _answer(card, now, number)


def _answer(card: Any, now: datetime | None, number: str) -> CardCheck:
    """The answer for a card's row, checked by ``number``: an old paper card's number
    after the card got a new one (it was re-issued here) is revoked, like a lost card."""
    day = (now or datetime.now(UTC)).astimezone(cardformat_token.CARD_TIME_ZONE).date()
    if card.state == CardState.REVOKED or card.number != number:
        status = CheckStatus.REVOKED
    elif card.state == CardState.EXPIRED or (
        card.valid_until is not None and card.valid_until < day
    ):
        status = CheckStatus.EXPIRED
    else:
        status = CheckStatus.VALID
    return CardCheck(
        status,
        card_number=number,
        holder_name=card.holder_name,
        card_type=card.card_type,
        valid_until=card.valid_until,
        card_id=card.id,
    )


def verify(
    code: str,
    *,
    channel: VerificationChannel,
    partner_id: int | None = None,
    api_key_id: int | None = None,
    benefit: Benefit | None = None,
    wait_for_record: bool = True,
) -> CardCheck:
    """Check ``code`` (QR content or typed card number) and record the check.

    With ``wait_for_record`` the record is in the database when this returns (pages show
    it in the history at once); without, it is written with the next batch (the till
    API, whose answer does not depend on it). A mistyped number raises
    :class:`~ehrenamt.cardformat.card_numbers.InvalidCardNumber` before anything is recorded
    or counted against the partner.
    """
    result = check(code)
    if benefit is not None and benefit.partner_id != partner_id:
        benefit = None  # a partner records only its own benefits
    writer = record_writer()
    writer.add(
        {
            "at": utcnow(),
            "partner_id": partner_id,
            "api_key_id": api_key_id,
            "channel": channel,
            "result": result.status.value,
            "card_id": result.card_id,
            "benefit_id": benefit.id if benefit else None,
        }
    )
    if wait_for_record:
        writer.flush()
    if partner_id is not None:
        # Unknown and forged codes count against the partner, its page and tills together.
        limits.count_if_failed(partner_id, result.status)
    return result
