"""What a card check answers: the status, and what the card itself shows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from ehrenamt.models import CardType


class CheckStatus(enum.StrEnum):
    """The answer of a card check; only these five."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    #: Genuine signature (or well-formed number) but no such card here.
    UNKNOWN = "unknown"
    #: Not a genuine card: forged, altered, unknown key, garbage.
    INVALID = "invalid"


@dataclass(frozen=True)
class CardCheck:
    """What a verifier learns: the status and what the card itself shows, nothing more."""

    status: CheckStatus
    card_number: str | None = None
    holder_name: str | None = None
    card_type: CardType | None = None
    valid_until: date | None = None
    #: Our card's database id, for the record of the check; never shown to a verifier.
    card_id: int | None = None

    @property
    def valid(self) -> bool:
        return self.status == CheckStatus.VALID
