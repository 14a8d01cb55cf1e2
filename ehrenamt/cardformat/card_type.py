"""The kinds of card: part of what a card shows and of what its token signs."""

from __future__ import annotations

import enum


class CardType(enum.StrEnum):
    """Standard cards expire; long-service cards are valid without end."""

    STANDARD = "standard"
    LONG_SERVICE = "long_service"
