"""What checking a scanned card needs from the database, kept in memory by each process.

A QR code's signature says whether the card is genuine, whose it is and until when it is
valid; the database adds only two facts: that the card is ours (its id, for the record
of the check) and whether it was revoked. A till checks cards all day, so each web
process keeps both in memory instead of asking the database every time:

- **card number → id**: a card's number and id never change, so a number once found
  stays right until the card is deleted (retention, erasure); a deleted revoked card's
  number is kept as a *retained revocation*, and such a number has no id any more.
  Kept for the most recently checked ``CARD_INDEX_SIZE`` cards; a number not in memory
  is looked up (and then kept). A number the database does not know is looked up every
  time (not kept).
- **the revoked numbers**: all of them (a few per cent of the cards), read again when
  older than ``CARD_REVOCATIONS_REFRESH_SECONDS``. A revocation made in this process is
  seen at once; one made in another process or machine within that time.
"""

from __future__ import annotations

import math
import threading
import time

from cachetools import LRUCache
from sqlalchemy import bindparam, select

from ehrenamt.extensions import per_app, read_all, read_one
from ehrenamt.models import Card, CardState, RetainedRevocation

_ID_BY_NUMBER = select(Card.id).where(Card.number == bindparam("number"))
_REVOKED_NUMBERS = select(Card.number).where(Card.state == CardState.REVOKED)
_RETAINED_NUMBERS = select(RetainedRevocation.number)


class CardIndex:
    """The ids of checked cards and the revoked numbers of one app, in one process."""

    def __init__(self, size: int, refresh_seconds: float) -> None:
        self._ids: LRUCache[str, int] = LRUCache(maxsize=size)
        self._ids_lock = threading.Lock()
        self._refresh_seconds = refresh_seconds
        self._revoked: frozenset[str] = frozenset()
        #: Of those, the numbers of deleted cards.
        self._deleted: frozenset[str] = frozenset()
        self._revoked_at = -math.inf  # when the revoked numbers were read (monotonic)
        self._revoked_lock = threading.Lock()

    def card_id(self, number: str) -> int | None:
        """The id of our card numbered ``number``, or None if there is none."""
        self.revoked_numbers()  # read again if old, so a deleted card is seen as such
        if number in self._deleted:
            return None
        with self._ids_lock:
            found = self._ids.get(number)
        if found is not None:
            return found
        row = read_one(_ID_BY_NUMBER, {"number": number})
        if row is None:
            return None
        with self._ids_lock:
            self._ids[number] = row.id
        return int(row.id)

    def is_revoked(self, number: str) -> bool:
        """Whether the card numbered ``number`` is revoked, as of at most the refresh time ago."""
        return number in self.revoked_numbers()

    def revoked_numbers(self) -> frozenset[str]:
        """Every revoked card's number, as of at most the refresh time ago."""
        if time.monotonic() - self._revoked_at >= self._refresh_seconds:
            with self._revoked_lock:  # one thread reads them; the others wait for it
                if time.monotonic() - self._revoked_at >= self._refresh_seconds:
                    started = time.monotonic()
                    deleted = frozenset(row.number for row in read_all(_RETAINED_NUMBERS))
                    revoked = frozenset(row.number for row in read_all(_REVOKED_NUMBERS))
                    self._deleted = deleted
                    self._revoked = revoked | deleted
                    self._revoked_at = started
        return self._revoked

    def revocations_changed(self) -> None:
        """A card was revoked in this process: read the revoked numbers before the next check."""
        self._revoked_at = -math.inf


def card_index() -> CardIndex:
    """The current app's index in this process."""
    return per_app(
        "ehrenamt.card_index",
        lambda app: CardIndex(
            int(app.config["CARD_INDEX_SIZE"]),
            float(app.config["CARD_REVOCATIONS_REFRESH_SECONDS"]),
        ),
    )
