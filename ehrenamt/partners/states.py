"""A partner's states as data: staff decide a registration once.

Like the application workflow and the card table (:mod:`ehrenamt.cards.states`); a test
covers every (state, action) pair.
"""

from __future__ import annotations

import enum

from ehrenamt.core.errors import Conflict
from ehrenamt.models import PartnerState


class PartnerAction(enum.StrEnum):
    """What staff decide about a registration (the audit log's action names)."""

    APPROVE = "approve"
    DECLINE = "decline"


#: ``(state, action) → next state``; a pair that is not here is not allowed.
TRANSITIONS: dict[tuple[PartnerState, PartnerAction], PartnerState] = {
    (PartnerState.PENDING, PartnerAction.APPROVE): PartnerState.APPROVED,
    (PartnerState.PENDING, PartnerAction.DECLINE): PartnerState.DECLINED,
}


def next_state(state: PartnerState, action: PartnerAction, subject: str) -> PartnerState:
    """The state ``action`` leads to from ``state``.

    Raises :class:`Conflict`: a registration is decided once, so a second decision means
    someone else decided meanwhile.
    """
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise Conflict(subject) from None
