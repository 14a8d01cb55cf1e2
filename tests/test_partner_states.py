"""The partner's state table: every (state, action) pair."""

from __future__ import annotations

import itertools

import pytest

from ehrenamt.core.errors import Conflict
from ehrenamt.models import PartnerState
from ehrenamt.partners.states import PartnerAction, next_state

#: A registration is decided once: only a pending partner is approved or declined.
EXPECTED = {
    (PartnerState.PENDING, PartnerAction.APPROVE): PartnerState.APPROVED,
    (PartnerState.PENDING, PartnerAction.DECLINE): PartnerState.DECLINED,
}


@pytest.mark.parametrize(("state", "action"), list(itertools.product(PartnerState, PartnerAction)))
def test_every_state_and_action(state: PartnerState, action: PartnerAction) -> None:
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(Conflict):
            next_state(state, action, "p-1")
    else:
        assert next_state(state, action, "p-1") == expected
