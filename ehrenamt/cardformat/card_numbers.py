"""Human-readable card numbers with a check character, for typing in when a camera fails.

A card number is 12 characters from a 31-character alphabet without the look-alikes
0/O and 1/I/L, printed in groups (``K7QM-3RXA-9TW4``). The first 11 characters are random,
the last is a check character computed with the ISO/IEC 7064 *pure system* construction
(the one behind MOD 11-2 and MOD 37-2) with the prime modulus 31 and the radix 3. Because
31 is prime and equals the alphabet size, the check character is always a letter of the
alphabet, and every single substitution and every transposition of two adjacent (or
next-but-one) characters changes the checksum; the Luhn mod N algorithm, by contrast,
misses one transposition (of the first and last character of the alphabet).

The canonical form (stored, signed into the QR) is the 12 characters without dashes.
"""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l

#: The characters of card numbers, in order of their value 0…30: digits and upper-case
#: letters without 0, 1, I, L and O, which people mistake for each other.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: Characters people type that no card number contains; none of them stands for a single
#: character of the alphabet (an O could be a D or a Q), so they are rejected, not guessed.
EXCLUDED = "0O1IL"
#: Length of a card number including the check character.
LENGTH = 12
#: Printed as groups of this many characters joined by dashes.
GROUP = 4

MODULUS = 31
RADIX = 3  # a primitive root modulo 31: position weights differ for 30 positions

_VALUES = {char: value for value, char in enumerate(ALPHABET)}
# What people type between groups and what browsers or copy-and-paste add.
_SEPARATORS = str.maketrans("", "", " -\u2010\u2011\u2012\u2013\u2014\u00a0\t")

assert len(ALPHABET) == MODULUS


class InvalidCardNumber(ValueError):
    """The text is not a card number; the message is for the person who typed it."""


def check_character(data: str) -> str:
    """The ISO/IEC 7064 pure-system check character (modulus 31, radix 3) for ``data``."""
    total = 0
    for char in data:
        total = (total + _VALUES[char]) * RADIX % MODULUS
    # Chosen so that the weighted sum over data and check character is 1 (mod 31).
    return ALPHABET[(1 - total) % MODULUS]


def new_card_number() -> str:
    """A fresh random card number in canonical form (about 54 random bits)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    return data + check_character(data)


def format_card_number(number: str) -> str:
    """The canonical ``number`` in printed form, e.g. ``K7QM-3RXA-9TW4``.

    A number imported from an old paper card (not one of ours) is shown as it is.
    """
    if not is_valid(number):
        return number
    return "-".join(number[i : i + GROUP] for i in range(0, len(number), GROUP))


def normalise_card_number(text: str) -> str:
    """The canonical form of a typed card number; raises :class:`InvalidCardNumber`.

    Accepts lower case, spaces and dashes (also the typographic ones that copying from
    a PDF yields).
    """
    compact = text.translate(_SEPARATORS).upper()
    if any(char in EXCLUDED for char in compact):
        raise InvalidCardNumber(
            _l(
                "Kartennummern enthalten keine 0, 1, I, L oder O. "
                "Bitte vergleichen Sie die Nummer mit der Karte."
            )
        )
    if len(compact) != LENGTH or any(char not in _VALUES for char in compact):
        raise InvalidCardNumber(
            _l("Eine Kartennummer hat 12 Zeichen (Ziffern 2–9 und Buchstaben).")
        )
    if check_character(compact[:-1]) != compact[-1]:
        raise InvalidCardNumber(_l("Tippfehler? Bitte die Nummer noch einmal prüfen."))
    return compact


#: How far the length of a typed text may be from LENGTH and still be a card number with a
#: character too many or too few; a QR code's content is a URL or far more digits.
_TYPED_SLACK = 2


def looks_typed(text: str) -> bool:
    """Whether ``text`` is meant as a typed card number (right or wrong), not QR content.

    A wrong one is a typing mistake to point out, never a forged card: it says nothing
    about a card, and the check character catches it before any look-up.
    """
    compact = text.translate(_SEPARATORS)
    return abs(len(compact) - LENGTH) <= _TYPED_SLACK and compact.isascii() and compact.isalnum()


def is_valid(text: str) -> bool:
    """Whether ``text`` is a card number, in any accepted spelling."""
    try:
        normalise_card_number(text)
    except InvalidCardNumber:
        return False
    return True
