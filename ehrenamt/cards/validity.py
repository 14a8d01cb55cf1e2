"""When cards begin and end: German calendar days, the office's validity period."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ehrenamt.cardformat import token
from ehrenamt.models import (
    Card,
    CardType,
    Office,
)


def today() -> date:
    """Today where the programme runs: cards end at midnight German time."""
    return datetime.now(token.CARD_TIME_ZONE).date()


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def default_valid_until(office: Office, card_type: CardType, valid_from: date) -> date | None:
    """End of validity from the office's rules; long-service cards have none."""
    if card_type == CardType.LONG_SERVICE:
        return None
    return add_years(valid_from, office.rules.validity_years) - timedelta(days=1)


def extension_default(card: Card) -> date | None:
    """The end of validity an extension proposes: one more validity period."""
    if card.valid_until is None:
        return None
    return add_years(card.valid_until, card.office.rules.validity_years)
