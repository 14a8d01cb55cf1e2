"""The card's states as data: which action moves a card from which state to which.

Like the application workflow (``ehrenamt/workflow.py``): the functions of
:mod:`ehrenamt.cards.lifecycle`, :mod:`~ehrenamt.cards.production` and
:mod:`~ehrenamt.cards.jobs` ask :func:`next_state` before they change a card, and the
register offers exactly the actions this table allows. A test covers every pair.
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l

from ehrenamt.core.errors import DomainError
from ehrenamt.models import CardState


class CardAction(enum.StrEnum):
    """What can happen to a card (the audit log's action names)."""

    #: A worker made the first documents: the card can be used.
    ISSUE = "issue"
    #: A worker made a new generation of an active card (re-issued or extended).
    RENDER = "render"
    REVOKE = "revoke"
    #: Lost: revoked, and a new card with a new number takes its place.
    REPLACE = "replace"
    REISSUE = "reissue"
    EXTEND = "extend"
    EXPIRE = "expire"


#: ``(state, action) → next state``; a pair that is not here is not allowed.
TRANSITIONS: dict[tuple[CardState, CardAction], CardState] = {
    (CardState.ISSUING, CardAction.ISSUE): CardState.ACTIVE,
    (CardState.ACTIVE, CardAction.RENDER): CardState.ACTIVE,
    (CardState.ISSUING, CardAction.REVOKE): CardState.REVOKED,
    (CardState.ACTIVE, CardAction.REVOKE): CardState.REVOKED,
    (CardState.EXPIRED, CardAction.REVOKE): CardState.REVOKED,
    (CardState.ISSUING, CardAction.REPLACE): CardState.REVOKED,
    (CardState.ACTIVE, CardAction.REPLACE): CardState.REVOKED,
    (CardState.ACTIVE, CardAction.REISSUE): CardState.ACTIVE,
    (CardState.ACTIVE, CardAction.EXTEND): CardState.ACTIVE,
    (CardState.EXPIRED, CardAction.EXTEND): CardState.ACTIVE,
    (CardState.ACTIVE, CardAction.EXPIRE): CardState.EXPIRED,
}

#: What staff are told when the card is not in a state for their action.
_REFUSALS = {
    CardAction.REVOKE: _l("Die Karte ist bereits gesperrt."),
    CardAction.REPLACE: _l("Nur eine gültige Karte kann ersetzt werden."),
    CardAction.REISSUE: _l("Nur eine gültige Karte kann neu ausgestellt werden."),
    CardAction.EXTEND: _l("Nur eine gültige oder abgelaufene Karte kann verlängert werden."),
}


class CardError(DomainError):
    """An action on a card that cannot be done (e.g. its state does not allow it); the
    message is for the user."""


def next_state(state: CardState, action: CardAction) -> CardState:
    """The state ``action`` leads to from ``state``; raises :class:`CardError`."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        message = _REFUSALS.get(action) or f"{action.value} is not allowed for a {state.value} card"
        raise CardError(str(message)) from None


def allowed_actions(state: CardState) -> set[CardAction]:
    """The actions the table allows from ``state``."""
    return {action for (from_state, action) in TRANSITIONS if from_state == state}
