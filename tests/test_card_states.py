"""The card's state table: every (state, action) pair, against the rules written out."""

from __future__ import annotations

import itertools

import pytest

from ehrenamt.cards.states import CardAction, CardError, allowed_actions, next_state
from ehrenamt.models import CardState

A = CardAction
#: The rules as the README and DESIGN.md state them; anything not listed is refused.
EXPECTED: dict[CardState, dict[CardAction, CardState]] = {
    CardState.ISSUING: {A.ISSUE: CardState.ACTIVE, A.REVOKE: CardState.REVOKED,
                        A.REPLACE: CardState.REVOKED},
    CardState.ACTIVE: {A.RENDER: CardState.ACTIVE, A.REVOKE: CardState.REVOKED,
                       A.REPLACE: CardState.REVOKED, A.REISSUE: CardState.ACTIVE,
                       A.EXTEND: CardState.ACTIVE, A.EXPIRE: CardState.EXPIRED},
    CardState.EXPIRED: {A.REVOKE: CardState.REVOKED, A.EXTEND: CardState.ACTIVE},
    CardState.REVOKED: {},
}  # fmt: skip


@pytest.mark.parametrize(("state", "action"), list(itertools.product(CardState, CardAction)))
def test_every_state_and_action(state: CardState, action: CardAction) -> None:
    expected = EXPECTED[state].get(action)
    if expected is None:
        with pytest.raises(CardError):
            next_state(state, action)
    else:
        assert next_state(state, action) == expected


@pytest.mark.parametrize("state", list(CardState))
def test_allowed_actions_are_the_table_s(state: CardState) -> None:
    assert allowed_actions(state) == set(EXPECTED[state])


def test_a_refusal_tells_staff_why() -> None:
    with pytest.raises(CardError, match="bereits gesperrt"):
        next_state(CardState.REVOKED, CardAction.REVOKE)
    with pytest.raises(CardError, match="verlängert"):
        next_state(CardState.REVOKED, CardAction.EXTEND)
