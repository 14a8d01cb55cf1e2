"""Checks of text from outside (forms, imported files) that every layer shares."""

from __future__ import annotations

import re
import unicodedata

#: C0 control characters other than tab, line feed and carriage return. None belongs in
#: a name or a note, and PostgreSQL cannot take a NUL in a query parameter at all.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


#: German letters spelt out, as people type them without a German keyboard ("Baeckerei").
_SPELT_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
#: The same letters without their dots, as people type them in a hurry ("Backerei").
_UNDOTTED = str.maketrans({"ä": "a", "ö": "o", "ü": "u"})
_WORD_SEPARATORS = re.compile(r"[\W_]+")


def fold_for_search(text: str, *, undotted: bool = False) -> str:
    """``text`` as the directory's search compares it: lower case, ß as ss, umlauts spelt
    out (ä → ae; with ``undotted`` ä → a), other accents dropped (é → e), and words
    separated by single spaces (so "Dessau-Roßlau" is "dessau rosslau").

    The same function folds the stored text and the visitor's query, so both sides agree
    on every database without collations or extensions.
    """
    # casefold turns ß and ẞ into ss; NFC first so a decomposed ä is an ä.
    lowered = unicodedata.normalize("NFC", text).casefold()
    lowered = lowered.translate(_UNDOTTED if undotted else _SPELT_OUT)
    decomposed = unicodedata.normalize("NFKD", lowered)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD_SEPARATORS.sub(" ", bare).split())


def searchable_text(*parts: str | None) -> str:
    """The stored side of :func:`fold_for_search`: each part folded both ways (spelt out
    and undotted), so a query folded once finds "Bäckerei" as "baeckerei", "bäckerei"
    and "backerei"."""
    folded: list[str] = []
    for part in parts:
        if not part:
            continue
        spelt_out = fold_for_search(part)
        folded.append(spelt_out)
        undotted = fold_for_search(part, undotted=True)
        if undotted != spelt_out:
            folded.append(undotted)
    return " ".join(folded)
