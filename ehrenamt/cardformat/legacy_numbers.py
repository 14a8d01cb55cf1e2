"""Numbers printed on cards a town issued before it used this service.

Towns numbered their paper cards in their own ways (``DE-2019-000123``, ``4711``,
``DR 12/345``). Such a number is kept when the card is imported, so the card in the
holder's wallet keeps working at every check. Its canonical form is the letters and
digits in upper case, without spaces, dashes, dots or slashes.

A legacy number can never be taken for a new one, nor a new one for a legacy one: the
import refuses a legacy number whose canonical form is a valid new-style number (12
characters of the new alphabet with a right check character, see
:mod:`~ehrenamt.cardformat.card_numbers`), and new numbers are drawn among exactly those.
Digits and letters are not guessed (an O stays an O): old cards were printed as they were.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from ehrenamt.cardformat import card_numbers

#: Longest canonical legacy number (the card number column holds 16 characters).
MAX_LENGTH = 16
#: Shortest: a one- or two-digit number would be too easy to hit by chance at the till.
MIN_LENGTH = 3
#: What towns print between groups, and what copying from a PDF yields.
_SEPARATORS = str.maketrans("", "", " -./_\u2010\u2011\u2012\u2013\u2014\u00a0\t")
_CANONICAL = re.compile(r"[A-Z0-9]+")


class InvalidLegacyNumber(ValueError):
    """The text cannot be a legacy card number; the message is for staff."""


def normalise_legacy_number(text: str) -> str:
    """The canonical form of a legacy card number; raises :class:`InvalidLegacyNumber`."""
    compact = text.translate(_SEPARATORS).upper()
    if not _CANONICAL.fullmatch(compact) or not MIN_LENGTH <= len(compact) <= MAX_LENGTH:
        raise InvalidLegacyNumber(
            _l(
                "Eine alte Kartennummer hat %(low)s bis %(high)s Buchstaben oder Ziffern.",
                low=MIN_LENGTH,
                high=MAX_LENGTH,
            )
        )
    if card_numbers.is_valid(compact):
        raise InvalidLegacyNumber(
            _l(
                "Die Nummer sieht aus wie eine Kartennummer dieses Dienstes und kann "
                "nicht übernommen werden."
            )
        )
    return compact


def legacy_form(text: str) -> str | None:
    """The canonical legacy number ``text`` would be, or None if it cannot be one."""
    try:
        return normalise_legacy_number(text)
    except InvalidLegacyNumber:
        return None
